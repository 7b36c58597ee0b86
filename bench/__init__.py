"""alertfold's benchmarks: `python -m bench` measures the product as it runs, on a real broker.

Each benchmark starts the product's own processes (`python -m app.cli worker|projector|api`)
under a fresh topic prefix, drives them the way users and producers would, and returns figures
with the setup that produced them, so a figure is never read without its partitions, batch
sizes and versions. `bench.registry` lists the benchmarks.
"""
