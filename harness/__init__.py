"""Runs alertfold as a user does, beside stand-ins for the systems that cannot run here.

Shared by the tests and the benchmarks: the product's processes (`harness.product`), waiting
on observable conditions, stories of issue events, and a local server that speaks Slack's
Web API and Socket Mode protocols. Nothing in the product imports it.
"""
