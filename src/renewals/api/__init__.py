"""HTTP transport: Litestar app, controllers, error mapping. Logic lives in renewals.domain."""
