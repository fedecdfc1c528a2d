//! The `b2b-idp` binary. The command line itself is `b2b_idp::cli`.

#[global_allocator]
static ALLOCATOR: b2b_idp::allocator::Allocator = b2b_idp::allocator::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    b2b_idp::cli::run().await
}
