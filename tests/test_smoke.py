def test_login_page(client):
    r = client.get("/auth/login")
    assert r.status_code == 200

def test_login_and_home(logged_in, client):
    user = logged_in("coordinator", territory="la-reunion")
    r = client.get("/")
    assert user.name in r.get_data(as_text=True)
