from models.tables.org import Region


async def test_database_starts_empty_and_accepts_rows(db):
    assert await Region.all().count() == 0
    await Region.create(name="测试县", level="COUNTY")
    assert await Region.all().count() == 1
