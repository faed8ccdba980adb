"""Business rules. Never imports Litestar or Dramatiq."""
