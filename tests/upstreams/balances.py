"""A mock of the providers' balance endpoints that One API reads, each under its own path prefix so a
channel's base URL picks the provider (`http://127.0.0.1:<port>/deepseek` …).

Each route checks the provider's auth header and answers the provider's documented JSON: OpenAI's
legacy billing dashboard, the credit-grants summary of OpenAI proxies, OpenAI-SB's user status,
AIProxy's user overview, SiliconFlow's user info, DeepSeek's balance and OpenRouter's credits.
A wrong key gets the provider's 401. `app.config` values change the answers for error cases.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask, jsonify, request

KEY = "sk-balance"


def create_app(key: str = KEY) -> Flask:
    app = Flask("mock-balances")
    app.config.update(KEY=key, REQUESTS=[], HAS_PAYMENT_METHOD=True, SILICONFLOW_CODE=20000,
                      DEEPSEEK_CURRENCIES=("USD", "CNY"), AIPROXY_SUCCESS=True, OPENAI_SB_DATA=True)

    @app.before_request
    def note():
        app.config["REQUESTS"].append({"path": request.full_path, "headers": dict(request.headers)})

    _openai_routes(app)
    _proxy_routes(app)
    _vendor_routes(app)
    return app


def _bearer_ok(app: Flask) -> bool:
    return request.headers.get("Authorization") == f"Bearer {app.config['KEY']}"


def _unauthorized():
    return jsonify(error={"message": "Incorrect API key provided.", "type": "invalid_request_error",
                          "param": None, "code": "invalid_api_key"}), 401


def _openai_routes(app: Flask) -> None:
    @app.get("/openai/v1/dashboard/billing/subscription")
    def subscription():
        if not _bearer_ok(app):
            return _unauthorized()
        return jsonify(object="billing_subscription", has_payment_method=app.config["HAS_PAYMENT_METHOD"],
                       soft_limit_usd=100.0, hard_limit_usd=120.0, system_hard_limit_usd=120.0,
                       access_until=4102444800)

    @app.get("/openai/v1/dashboard/billing/usage")
    def usage():
        if not _bearer_ok(app):
            return _unauthorized()
        today = date.today()
        start = today.replace(day=1) if app.config["HAS_PAYMENT_METHOD"] else today - timedelta(days=100)
        expected = (start.isoformat(), today.isoformat())
        if (request.args.get("start_date"), request.args.get("end_date")) != expected:
            return jsonify(error={"message": "Invalid date range", "type": "invalid_request_error"}), 400
        # total_usage is in cents.
        return jsonify(object="list", daily_costs=[], total_usage=2550.0)


def _proxy_routes(app: Flask) -> None:
    @app.get("/closeai/dashboard/billing/credit_grants")
    @app.get("/aigc2d/dashboard/billing/credit_grants")
    def credit_summary():
        if not _bearer_ok(app):
            return _unauthorized()
        available = 7.5 if request.path.startswith("/closeai") else 3.25
        return jsonify(object="credit_summary", total_granted=10.0, total_used=10.0 - available,
                       total_available=available, grants={"object": "list", "data": []})

    @app.get("/api2gpt/dashboard/billing/credit_grants")
    def api2gpt_grants():
        if not _bearer_ok(app):
            return _unauthorized()
        return jsonify(object="credit_grants", total_granted=20.0, total_used=5.0, total_remaining=15.0)

    @app.get("/openai-sb/sb-api/user/status")
    def openai_sb_status():
        if not _bearer_ok(app) or request.args.get("api_key") != app.config["KEY"]:
            return jsonify(msg="invalid api_key", data=None)
        if not app.config["OPENAI_SB_DATA"]:
            return jsonify(msg="user not found", data=None)
        return jsonify(msg="ok", data={"credit": "12.34"})

    @app.get("/aiproxy/api/report/getUserOverview")
    def aiproxy_overview():
        if request.headers.get("Api-Key") != app.config["KEY"] or not app.config["AIPROXY_SUCCESS"]:
            return jsonify(success=False, message="invalid api key", error_code=10001, data=None)
        return jsonify(success=True, message="", error_code=0, data={"totalPoints": 88.8})


def _vendor_routes(app: Flask) -> None:
    @app.get("/siliconflow/v1/user/info")
    def siliconflow_info():
        if not _bearer_ok(app):
            return jsonify(code=401, message="Invalid token", data=None), 401
        code = app.config["SILICONFLOW_CODE"]
        if code != 20000:
            return jsonify(code=code, message="account frozen", status=False, data=None)
        return jsonify(code=20000, message="OK", status=True, data={
            "id": "u1", "name": "user", "image": "", "email": "", "isAdmin": False, "balance": "0.88",
            "status": "normal", "introduction": "", "role": "", "chargeBalance": "1.00", "totalBalance": "1.88"})

    @app.get("/deepseek/user/balance")
    def deepseek_balance():
        if not _bearer_ok(app):
            return _unauthorized()
        amounts = {"USD": "5.00", "CNY": "110.00"}
        infos = [{"currency": c, "total_balance": amounts[c], "granted_balance": "0.00",
                  "topped_up_balance": amounts[c]} for c in app.config["DEEPSEEK_CURRENCIES"]]
        return jsonify(is_available=True, balance_infos=infos)

    @app.get("/openrouter/v1/credits")
    def openrouter_credits():
        if not _bearer_ok(app):
            return jsonify(error={"code": 401, "message": "No auth credentials found"}), 401
        return jsonify(data={"total_credits": 25.0, "total_usage": 7.5})
