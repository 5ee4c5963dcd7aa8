"""The runtime: executes a plan.json. It never imports dsl or compiler."""
