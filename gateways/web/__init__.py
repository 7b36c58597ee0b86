"""The web page for people on call, under `/ui/`: server-rendered, live, acting over HTTP."""
