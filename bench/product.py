"""The product's own processes for one benchmark, on its defaults plus what the benchmark sets.

Logs go to files in the work directory; a part that dies fails the benchmark with the end of
its log (see `harness.product`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.product import Product, inherited_environment, product_environment


@contextmanager
def bench_product(bootstrap: str, workdir: Path, partitions: int, **env: str) -> Iterator[Product]:
    """A product with nothing running yet; every part started is stopped at the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    environment = product_environment(
        bootstrap,
        workdir,
        partitions=partitions,
        base=inherited_environment(),
        prefix="bench",
        **{
            "ALERTFOLD_LOG_LEVEL": "warning",
            "ALERTFOLD_RATE_LIMIT_PER_SECOND": "0",  # a benchmark is a deliberate flood
            **env,
        },
    )
    product = Product(env=environment, workdir=workdir)
    try:
        yield product
    finally:
        product.stop_all()
