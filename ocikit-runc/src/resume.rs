//! `resume`: like runc-resume(8), thaws a paused container.

use ocikit_runtime::Runtime;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    rt.resume(a.id("resume")?)?;
    Ok(0)
}
