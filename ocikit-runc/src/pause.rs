//! `pause`: like runc-pause(8), freezes every process of the container.

use ocikit_runtime::Runtime;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    rt.pause(a.id("pause")?)?;
    Ok(0)
}
