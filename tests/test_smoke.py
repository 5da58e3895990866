"""The application starts on each engine with root / 123456 and answers its status."""


def test_status_answers_with_the_envelope(client):
    body = client.get("/api/status").json
    assert body["success"] is True
    assert body["data"]["system_name"] == "One API"


def test_root_can_log_in_on_a_fresh_database(root_client):
    me = root_client.get("/api/user/self").json["data"]
    assert me["username"] == "root" and me["role"] == 100 and me["quota"] == 500_000_000_000_000
