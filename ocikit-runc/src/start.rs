//! `start`: like runc-start(8).

use ocikit_runtime::Runtime;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    rt.start(a.id("start")?)?;
    Ok(0)
}
