"""What callers and officials hear: Russian defaults, overridable by `VOICE_PROMPTS`."""

from flask import current_app

VOICE = "Polly.Tatyana"
LANGUAGE = "ru-RU"

DEFAULTS = {
    "greeting": "Здравствуйте! Вы позвонили на горячую линию губернатора.",
    "queue_wait": "Все операторы заняты. Вы {position}-й в очереди. "
    "Чтобы выбрать муниципалитет и тему самостоятельно, нажмите звёздочку.",
    "menu_municipality": "Назовите ваш муниципалитет или наберите его код из двух цифр.",
    "menu_municipality_item": "{code} — {name}.",
    "menu_category": "Выберите тему обращения.",
    "menu_category_item": "{digit} — {name}.",
    "menu_category_other": "0 — другое.",
    "not_understood": "Извините, не удалось распознать выбор.",
    "connecting": "Соединяем вас с дежурным муниципалитета. Пожалуйста, оставайтесь на линии.",
    "whisper": "Горячая линия губернатора. {municipality}. Тема: {topic}. "
    "Нажмите 1, чтобы принять звонок.",
    "caller_gone": "Гражданин уже положил трубку.",
    "connected_goodbye": "Спасибо за обращение. До свидания.",
    "exhausted": "К сожалению, дежурные сейчас не ответили. Ваше обращение зарегистрировано "
    "под номером {number}. Номер придёт вам в СМС. Вам обязательно перезвонят. "
    "После сигнала вы можете оставить голосовое сообщение.",
    "recorded": "Спасибо, ваше сообщение записано. До свидания.",
    "blocked": "Извините, приём звонков с вашего номера ограничен. "
    "Вы можете направить обращение письменно.",
    "rate_limited": "Вы звонили несколько раз за короткое время. Пожалуйста, перезвоните позже.",
    "fallback": "Извините, сервис работает в ограниченном режиме. "
    "Соединяем вас с региональным дежурным диспетчером.",
    "sms_registered": "Горячая линия губернатора: ваше обращение зарегистрировано, номер {number}. "
    "Вам перезвонят.",
    # hotline.open311: what a client is told about its request's handling.
    "open311_service_notice": "Обращение {number} передано: {municipality}. "
    "Срок решения — до {due}.",
    # callbacks: notice calls, card SMS, check-ins, the citizen's confirmation, the callback.
    "notice_call": "Горячая линия губернатора. Вам звонили: карточка номер {card}. "
    "Муниципалитет: {municipality}. Тема: {topic}. "
    "Перезвонить гражданину до {due}. "
    "Нажмите 1, чтобы подтвердить, что карточка принята.",
    "sms_card_opened": "Вам звонили: карточка №{card}, {topic}, "
    "гражданин {caller}. "
    "Перезвонить до {due}. {link}",
    "sms_card_reminder": "Напоминание: карточка №{card} не принята в работу. {link}",
    "sms_card_escalation": "Эскалация: по карточке №{card} гражданину не перезвонили, "
    "срок {due}. {link}",
    "sms_card_overdue": "Просрочено: по карточке №{card} гражданину не перезвонили к {due}. {link}",
    "sms_head_digest": "Сводка: открытых карточек {open}, просроченных {overdue}, "
    "пропущенных вчера {missed}. Подробности в письме и в кабинете.",
    "sms_checkin": "Контроль обращения {number}: ответьте коротко, что сделано "
    "(например: «{number} бригада выехала»).",
    "sms_confirmation": "Обращение {number} отмечено как решённое. "
    "Ответьте 1, если проблема решена, или 2, если нет.",
    "callback_whisper": "Горячая линия губернатора. Обратный звонок гражданину по карточке "
    "номер {card}, тема: {topic}. Нажмите 1, чтобы позвонить гражданину.",
    "callback_cancelled": "Звонок отменён.",
    "callback_connecting": "Соединяем с гражданином.",
    "callback_recorded": "Разговор с гражданином записан в карточку. Спасибо.",
    "callback_unanswered": "Гражданин не ответил. Попробуйте позже.",
    "callback_over": "Этот звонок уже завершён. Попробуйте ещё раз из карточки.",
    "callback_unavailable": "Сервис временно недоступен. Позвоните гражданину позже "
    "из личного кабинета.",
    "notice_confirmed": "Карточка подтверждена и принята в работу. Спасибо.",
    "notice_not_confirmed": "Карточка не подтверждена. Она ждёт вас в личном кабинете.",
}


def prompt(key: str, **values) -> str:
    """Return the prompt text with its placeholders filled in."""
    texts = current_app.config.get("VOICE_PROMPTS") or {}
    return texts.get(key, DEFAULTS[key]).format(**values)


def spoken_number(number: str) -> str:
    """Spell a registration number digit by digit so the voice reads it clearly."""
    return ", ".join(" ".join(group) for group in number.split("-"))
