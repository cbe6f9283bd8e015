//! `state`: like runc-state(8), the state as indented JSON.

use ocikit_runtime::Runtime;
use ocikit_types::Document;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let state = rt.state(a.id("state")?)?;
    outln!("{}", state.to_pretty_string());
    Ok(0)
}
