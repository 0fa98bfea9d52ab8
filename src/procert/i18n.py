"""User-facing text in Japanese (the default) and English.

Messages are kept as a catalogue of ``key -> {lang: template}``; a test checks every key has both languages.
"""

from __future__ import annotations

from typing import Any

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

MESSAGES: dict[str, dict[str, str]] = {
    "pass": {"ja": "達成", "en": "pass"},
    "fail": {"ja": "未達", "en": "fail"},
    "undefined": {"ja": "データなし", "en": "no data"},
    "yes": {"ja": "はい", "en": "yes"},
    "no": {"ja": "いいえ", "en": "no"},
    "certified": {"ja": "認定条件をすべて満たしています", "en": "meets every criterion: certified"},
    "not_certified": {"ja": "認定条件を満たしていません", "en": "does not meet every criterion: not certified"},
    "ineligible_status": {
        "ja": "アカウント状態が「{status}」のため認定対象外です(対象: {eligible})",
        "en": "account status is '{status}', so the worker cannot be certified (eligible: {eligible})",
    },
    "header": {
        "ja": "{name}({program})の判定: ワーカー {worker}({division})、{as_of} 0:00 時点({tz})",
        "en": "{name} ({program}) for worker {worker} ({division}) as of {as_of} 00:00 ({tz})",
    },
    "next_evaluation": {"ja": "次回の判定日: {date}", "en": "Next evaluation: {date}"},
    "col_criterion": {"ja": "条件", "en": "Criterion"},
    "col_value": {"ja": "現在値", "en": "Value"},
    "col_threshold": {"ja": "基準", "en": "Threshold"},
    "col_result": {"ja": "判定", "en": "Result"},
    "col_window": {"ja": "集計期間", "en": "Window"},
    "window_range": {
        "ja": "{start} 0:00 〜 {end} 0:00 の直前まで",
        "en": "{start} 00:00 up to (not incl.) {end} 00:00",
    },
    "window_lifetime": {"ja": "{end} 0:00 より前の全期間", "en": "all time before {end} 00:00"},
    "window_months": {"ja": "{first} 〜 {last} の各月", "en": "each month {first} to {last}"},
    "window_current": {"ja": "現在のプロフィール", "en": "current profile"},
    "takes": {"ja": "達成に必要なこと", "en": "What it would take"},
    "margin": {"ja": "余裕", "en": "Margin"},
    "advice": {"ja": "アドバイス", "en": "Advice"},
    # what it would take
    "gap_no_contracts": {
        "ja": "集計期間に完了(納品またはキャンセル)した対象契約がありません。1件納品すると完了率は100%になります。",
        "en": "No contract of the counted kinds was closed (delivered or cancelled) in the window; "
        "one delivery makes the rate 100%.",
    },
    "gap_more_deliveries": {
        "ja": "キャンセルなしであと {k} 件納品すると基準に達します(納品 {num}/{den} 件)。",
        "en": "{k} more delivered contract(s) without a cancellation would reach the threshold "
        "({num} of {den} delivered now).",
    },
    "gap_unreachable_rate": {
        "ja": "納品を増やすだけでは届きません。キャンセルが集計期間から外れるのを待つ必要があります。",
        "en": "More deliveries alone cannot reach it; cancellations must first leave the window.",
    },
    "gap_no_reviews": {
        "ja": "まだ評価がありません。最初の評価がすべて満点なら基準を満たします。",
        "en": "No reviews yet; a first review with top marks would meet the threshold.",
    },
    "gap_more_perfect_reviews": {
        "ja": "満点(★5)の評価があと {k} 件あれば {target} 以上になります(現在 {n} 件の平均 {value})。",
        "en": "{k} more top-mark (5-star) review(s) would bring the average to {target} or above "
        "(now {value} over {n} review(s)).",
    },
    "gap_unreachable_rating": {
        "ja": "満点の評価を重ねても基準には届きません。",
        "en": "Even top-mark reviews cannot reach this threshold.",
    },
    "margin_one_star": {
        "ja": "★1の評価が {k} 件つくと基準を下回ります。",
        "en": "{k} one-star review(s) would take you below the threshold.",
    },
    "gap_more_count": {
        "ja": "集計期間内にあと {k} 件必要です(現在 {value} 件)。",
        "en": "{k} more needed within the window (now {value}).",
    },
    "margin_count": {
        "ja": "基準を {k} 件上回っています。",
        "en": "{k} above the threshold.",
    },
    "margin_count_exact": {
        "ja": "基準ちょうどです。1件でも減ると未達になります。",
        "en": "Exactly at the threshold: one fewer and it fails.",
    },
    "gap_never_ranked": {
        "ja": "過去12か月に部門内でランキング入りした月がありません。{detail}",
        "en": "No month in the window ranked you in your division. {detail}",
    },
    "gap_rank": {
        "ja": "最高順位は {rank} 位です。{detail}",
        "en": "Your best rank is {rank}. {detail}",
    },
    "rank_closest": {
        "ja": "最も近かった {month} は、部門の {cutoff} 位の方が {cutoff_total} 円を獲得しており、"
        "あなたは {own} 円(あと {short} 円)でした。",
        "en": "In {month}, your closest month, the {cutoff}th in your division earned ¥{cutoff_total}; "
        "you earned ¥{own} (¥{short} short).",
    },
    "rank_open": {
        "ja": "{month} は部門でランキング入りしたのが {ranked} 人だけだったため、"
        "1円以上の報酬があれば {cutoff} 位以内でした。",
        "en": "In {month} only {ranked} worker(s) of your division were ranked, so any positive earnings "
        "would have placed you within the top {cutoff}.",
    },
    "rank_no_data": {
        "ja": "部門内でこの期間に報酬の記録がありません。",
        "en": "Nobody in your division has payments in this period.",
    },
    "margin_rank": {
        "ja": "{month} に {rank} 位(基準 {cutoff} 位以内)でした。",
        "en": "Ranked {rank} in {month} (cut-off: top {cutoff}).",
    },
    "gap_profile": {
        "ja": "未入力の項目があります: {fields}",
        "en": "Not filled in yet: {fields}",
    },
    "field_profile_text": {"ja": "プロフィール", "en": "profile"},
    "field_self_pr_text": {"ja": "自己PR", "en": "self-PR"},
    "gap_unknown": {
        "ja": "この条件の見通しは計算できません。",
        "en": "No estimate is available for this criterion.",
    },
    # notification mails
    "mail_greeting": {"ja": "{name} 様", "en": "Dear {name},"},
    "mail_subject_granted": {
        "ja": "【{program}】認定されました({as_of} 判定)",
        "en": "[{program}] You are certified ({as_of} evaluation)",
    },
    "mail_subject_kept": {
        "ja": "【{program}】認定を継続しました({as_of} 判定)",
        "en": "[{program}] Your certification continues ({as_of} evaluation)",
    },
    "mail_subject_lost": {
        "ja": "【{program}】認定が解除されました({as_of} 判定)",
        "en": "[{program}] Your certification has ended ({as_of} evaluation)",
    },
    "mail_subject_at_risk": {
        "ja": "【{program}】次回 {next} の判定で認定が外れるおそれがあります",
        "en": "[{program}] Your certification is at risk at the {next} evaluation",
    },
    "mail_lead_granted": {
        "ja": "{as_of} の判定で、{program} の条件をすべて満たし、認定されました。おめでとうございます。",
        "en": "At the {as_of} evaluation you met every criterion of {program} and are now certified. Congratulations.",
    },
    "mail_lead_kept": {
        "ja": "{as_of} の判定でも条件をすべて満たし、{program} の認定を継続します。",
        "en": "At the {as_of} evaluation you again met every criterion: your {program} certification continues.",
    },
    "mail_lead_grace": {
        "ja": "{as_of} の判定では次の条件がわずかに届きませんでした: {failed}。"
        "猶予期間として認定は継続しますが、次回 {next} までに回復が必要です。",
        "en": "At the {as_of} evaluation you narrowly missed: {failed}. Your certification continues for one "
        "grace period, but these must recover by the {next} evaluation.",
    },
    "mail_lead_lost": {
        "ja": "{as_of} の判定で次の条件を満たさなかったため、{program} の認定が解除されました: {failed}。"
        "条件を満たせば次回以降の判定で再び認定されます。",
        "en": "At the {as_of} evaluation these criteria were not met, so your {program} certification has "
        "ended: {failed}. Meet them again and a later evaluation will certify you again.",
    },
    "mail_lead_lost_override": {
        "ja": "運営の判断により、{program} の認定が解除されました。詳しくはサポートまでお問い合わせください。",
        "en": "Your {program} certification was ended by the operator. Please contact support for details.",
    },
    "mail_lead_at_risk": {
        "ja": "このまま新しい実績がない場合、次回 {next} の判定で次の条件を満たさなくなる見込みです: {at_risk}。",
        "en": "If nothing new happens, these criteria will not be met at the {next} evaluation: {at_risk}.",
    },
    "mail_changed": {"ja": "(要確認)", "en": "(needs attention)"},
    "mail_dashboard": {"ja": "進捗を確認する(ダッシュボード)", "en": "See your progress (dashboard)"},
    "mail_footer": {
        "ja": "このメールは {program} の判定結果をお知らせするため自動送信しています。",
        "en": "This message was sent automatically to report your {program} evaluation.",
    },
    # status
    "status_certified": {"ja": "認定中({since} から)", "en": "certified since {since}"},
    "status_not_certified": {"ja": "未認定", "en": "not certified"},
    "status_override": {
        "ja": "運営による固定: {state}(理由: {reason}、設定: {by}、期限: {until})",
        "en": "locked by an admin as {state} (reason: {reason}; by {by}; until {until})",
    },
    "status_grace": {
        "ja": "猶予期間中です。次回の判定までに条件を回復してください。",
        "en": "In a grace period: meet the criteria again by the next evaluation.",
    },
    "status_last_run": {"ja": "前回の判定(#{run}、{as_of})", "en": "Last run (#{run}, {as_of})"},
    "status_at_risk": {
        "ja": "注意: このままでは次回 {date} の判定で次の条件を満たさない見込みです: {criteria}",
        "en": "At risk: if nothing new happens, the {date} evaluation will fail: {criteria}",
    },
    "status_safe": {
        "ja": "次回 {date} の判定も、このままで条件を満たす見込みです。",
        "en": "On track: as things stand, the {date} evaluation will pass.",
    },
    "forecast_head": {
        "ja": "次回 {date} の判定予測({today} までの実績で計算): 認定中 {certified} 人のうち {at_risk} 人が要注意",
        "en": "Forecast for {date} (facts up to {today}): {at_risk} of {certified} certified workers at risk",
    },
    "forecast_worker_safe": {
        "ja": "{worker} は、このままでも {date} の判定で条件を満たす見込みです。",
        "en": "{worker} is on track: as things stand, the {date} evaluation passes.",
    },
    # web
    "badge_pro": {"ja": "認定", "en": "certified"},
    "badge_none": {"ja": "—", "en": "—"},
    "web_directory": {"ja": "認定ワーカー一覧", "en": "Certified workers"},
    "web_switch_lang": {"ja": "English", "en": "日本語"},
    "web_search": {"ja": "キーワード", "en": "Keywords"},
    "web_division": {"ja": "職種部門", "en": "Division"},
    "web_all_divisions": {"ja": "すべて", "en": "All"},
    "web_sort": {"ja": "並び順", "en": "Sort by"},
    "web_sort_rating": {"ja": "評価が高い順", "en": "Highest rated"},
    "web_sort_recent": {"ja": "新しく認定された順", "en": "Most recently certified"},
    "web_sort_name": {"ja": "名前順", "en": "Name"},
    "web_search_button": {"ja": "検索", "en": "Search"},
    "web_total": {"ja": "{total} 人", "en": "{total} workers"},
    "web_since": {"ja": "{date} から認定", "en": "certified since {date}"},
    "web_no_results": {"ja": "該当する認定ワーカーはいません。", "en": "No certified worker matches."},
    "web_overall_rating": {"ja": "総合評価", "en": "Overall rating"},
    "web_communication_rating": {"ja": "コミュニケーション評価", "en": "Communication rating"},
    "web_not_found": {"ja": "ワーカーが見つかりません", "en": "Worker not found"},
    "web_dashboard": {"ja": "マイダッシュボード", "en": "My dashboard"},
    "web_sign_out": {"ja": "ログアウト", "en": "Sign out"},
    "web_login_failed": {"ja": "ログインできませんでした", "en": "Could not sign you in"},
    "web_sign_in_needed": {"ja": "ログインが必要です", "en": "Please sign in"},
    "web_sign_in_needed_detail": {
        "ja": "プラットフォームから届いたログインリンクを開いてください。",
        "en": "Open the login link your platform gave you.",
    },
    "web_forbidden": {"ja": "表示できません", "en": "Not yours to see"},
    "web_forbidden_detail": {
        "ja": "ご自身のダッシュボードだけを表示できます。",
        "en": "You can only see your own dashboard.",
    },
    "web_demo_login": {"ja": "デモ: ワーカーとしてログイン", "en": "Demo: sign in as a worker"},
    "web_demo_login_detail": {
        "ja": "デモモードでのみ表示されます。本番では運営のプラットフォームがログインリンクを発行します。",
        "en": "Shown in demo mode only. In production the operator's platform issues login links.",
    },
    "web_override": {
        "ja": "運営による固定があります(理由: {reason})",
        "en": "Locked by the operator (reason: {reason})",
    },
    "web_at_risk": {
        "ja": "このままでは次回 {date} の判定で {count} 件の条件を満たさない見込みです。",
        "en": "As things stand, {count} criteria would fail at the {date} evaluation.",
    },
    "web_on_track": {
        "ja": "このままでも次回 {date} の判定で条件を満たす見込みです。",
        "en": "On track: as things stand, the {date} evaluation passes.",
    },
    "web_last_run": {"ja": "前回の判定: {as_of}", "en": "Last evaluation: {as_of}"},
    "web_criteria": {"ja": "条件ごとの進捗", "en": "Progress by criterion"},
    "web_official": {"ja": "前回の判定", "en": "Last evaluation"},
    "web_live": {"ja": "現在(速報)", "en": "Now (preview)"},
    "web_history": {"ja": "これまでの履歴", "en": "History"},
    "web_no_history": {"ja": "まだ記録はありません。", "en": "Nothing recorded yet."},
    "web_kind_granted": {"ja": "認定", "en": "certified"},
    "web_kind_kept": {"ja": "継続", "en": "kept"},
    "web_kind_lost": {"ja": "解除", "en": "ended"},
    # summary
    "summary_title": {
        "ja": "{name}({program})判定結果 {as_of} 時点",
        "en": "{name} ({program}) results as of {as_of}",
    },
    "summary_workers": {"ja": "判定したワーカー", "en": "Workers evaluated"},
    "summary_eligible": {"ja": "うち認定対象の状態", "en": "of which eligible status"},
    "summary_certified": {"ja": "認定", "en": "Certified"},
    "summary_seconds": {"ja": "所要時間", "en": "Time"},
}


def t(key: str, lang: str = DEFAULT_LANG, **values: Any) -> str:
    """The message ``key`` in ``lang`` (falling back to Japanese), formatted with ``values``."""
    entry = MESSAGES[key]
    template = entry.get(lang) or entry[DEFAULT_LANG]
    return template.format(**values)


def format_value(value: Any, lang: str = DEFAULT_LANG) -> str:
    """A measured value for people: 4 decimals at most, yes/no for true/false, a dash for no data."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
