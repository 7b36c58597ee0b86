"""The product for integration tests: worker, projector, auditor and API running on a broker.

Each gets its own topic prefix and database, so tests share one broker without seeing each
other's records (see `harness.product`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.product import Product, product_environment

__all__ = ["PARTS", "Product", "running_product"]

PARTS = ("worker", "projector", "auditor", "api")


@contextmanager
def running_product(
    bootstrap: str, workdir: Path, database_url: str | None = None, **env: str
) -> Iterator[Product]:
    workdir.mkdir(parents=True, exist_ok=True)
    environment = product_environment(
        bootstrap,
        workdir,
        partitions=4,
        base=os.environ,
        **{
            "ALERTFOLD_LOG_LEVEL": "info",
            **({"DATABASE_URL": database_url} if database_url else {}),
            **env,
        },
    )
    product = Product(env=environment, workdir=workdir)
    try:
        for part in PARTS:
            product.start(part)
        yield product
    finally:
        product.stop_all()
