def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200, r.text
    assert r.json()["database"] == "ok"
    r = client.post("/api/v1/agencies", json={"name": "Police", "kind": "police"})
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/agencies")
    assert r.json()["total"] == 1
