def login(user, password):
    token = request.headers.get("Authorization")
    secret = settings.SECRET_KEY
    api_key = os.environ["API_KEY"]
    return authenticate(user=user, password=password, token=token)
