"""The top layer: the composition root, the `alertfold` command, the supervisor of `up`.

It wires every other layer together and nothing imports it.
"""
