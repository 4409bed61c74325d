"""The API adapters of the request pipeline (`proxy.pipeline.Adapter`), one per client API."""
