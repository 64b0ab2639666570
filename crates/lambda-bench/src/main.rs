//! `lambda-hello`: the smallest `lambda_runtime` function (it echoes its event), built by `make bench`
//! with the same profile, target and linker as the three functions. The Lambda bench
//! (`benches/lambda.rs`) measures it beside them, so their init time and memory read against what the
//! runtime alone costs on the same machine in the same run.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<_, Error>(event.payload) })).await
}
