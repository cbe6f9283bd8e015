//! `features`: like runc-features(8), what the engine supports.

use oci_runtime::oci_types::Document;
use oci_runtime::Runtime;

use crate::args::Args;
use crate::Failure;

pub(crate) fn main(_: Args) -> Result<i32, Failure> {
    outln!("{}", Runtime::features().to_pretty_string());
    Ok(0)
}
