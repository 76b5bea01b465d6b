async def test_healthz(directory):
    async with directory.client() as c:
        r = await c.get("/readyz")
        assert r.status_code == 200, r.text
