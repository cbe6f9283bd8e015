//! `features`: like runc-features(8), what the engine supports.

use ocikit_runtime::Runtime;
use ocikit_types::Document;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(_: Args) -> Result<i32, Failure> {
    outln!("{}", Runtime::features().to_pretty_string());
    Ok(0)
}
