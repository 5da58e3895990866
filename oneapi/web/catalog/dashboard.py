"""Chinese strings of the dashboard (One API's wording where it has one)."""

ZH: dict[str, str] = {
    "(no model)": "（无模型）",
    "Dashboard": "数据看板",
    "Day": "日期",
    "Go to tokens": "前往令牌页面",
    "Model request trend": "模型请求趋势",
    "Model": "模型",
    "No usage in the last 7 days yet. Create a token and make a request with it; your requests, quota and "
    "tokens per day will show here.":
        "最近 7 天还没有用量。创建一个令牌并用它发起请求，每天的请求数、额度消耗和 Token 用量就会显示在这里。",
    "Quota usage trend": "额度消费趋势",
    "Show the numbers": "查看数据",
    "Statistics": "统计",
    "Today's spend: %(amount)s": "今日消耗：%(amount)s",
    "Today: %(n)s": "今日：%(n)s",
    "Token usage trend": "Token 使用趋势",
    "Tokens (prompt + completion) per model and day": "各模型每天的 Token 数（提示 + 补全）",
    "Tokens per model and day": "各模型每天的 Token 用量",
}
