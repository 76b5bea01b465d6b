"""What ops run against a deployment (or `make up`'s stack): `bridges doctor`, `bridges backup`
and `bridges restore`."""
