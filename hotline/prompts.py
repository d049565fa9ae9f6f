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
    "exhausted_known": "К сожалению, дежурные сейчас не ответили. Ваш звонок по обращению "
    "{number} передан ответственным, вам обязательно перезвонят. "
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
    "queue_estimate": "Вы {position}-й в очереди. Примерное время ожидания — {minutes} мин.",
    "queue_callback_offer": "Чтобы мы перезвонили вам, сохранив вашу очередь, нажмите 1.",
    "queue_callback_kept": "Спасибо. Ваша очередь сохранена: когда она подойдёт, оператор "
    "перезвонит вам на этот номер. До свидания.",
    "transfer_connecting": "Переводим ваш звонок. Пожалуйста, оставайтесь на линии.",
    "transfer_consult": "Абонент ожидает на удержании. Соединяем для согласования перевода.",
    "queue_callback_whisper": "Обратный звонок из очереди: гражданин ждал и попросил "
    "перезвонить. Соединяем.",
    # the caller's first minute: speech first, short lists, known callers, incidents
    "ask_municipality": "Назовите ваш город или район.",
    "offer_municipality": "Вы звоните по {place}? Нажмите 1 или назовите другой город или район.",
    "menu_groups": "Выберите группу по алфавиту.",
    "menu_group_item": "{digit} — от {first} до {last}.",
    "menu_place_item": "{digit} — {name}.",
    "menu_operator": "0 — оператор.",
    "ask_topic": "Назовите тему или нажмите:",
    "topic_item": "{digit} — {name}.",
    "topic_other": "0 — другое.",
    "connecting_short": "Соединяем с дежурным.",
    "known_appeal": "Ваше обращение {number} {state}, срок до {due}. "
    "1 — последняя запись, 2 — связаться по нему, 3 — новый вопрос.",
    "known_appeal_no_note": "По обращению пока нет записей.",
    "known_appeal_note": "Последняя запись: {note}",
    "incident": "Внимание: {municipality}, {text}",
    "incident_until": "Ожидаем устранения до {until}.",
    "incident_join": "Если вы звоните по этому поводу, нажмите 1.",
    "incident_joined": "Спасибо, ваш звонок учтён. Мы пришлём СМС, когда всё исправят.",
    "sms_incident_closed": "Горячая линия губернатора: {municipality}, «{text}» — устранено. "
    "Спасибо за обращение.",
}

#: How an appeal's state is said to a caller who asks about it.
SPOKEN_STATES = {
    "routing": "передано дежурным",
    "in_work": "в работе",
    "missed": "зарегистрировано, вам перезвонят",
    "resolved": "решено",
    "reopened": "снова в работе",
    "closed": "закрыто",
}


class PromptTexts(dict):
    """The prompts' texts by key; `overridden` names those `VOICE_PROMPTS` changed."""

    overridden: set[str]


def prompt_texts() -> PromptTexts:
    """Return every prompt's text as it is spoken now (defaults with the overrides)."""
    overrides = current_app.config.get("VOICE_PROMPTS") or {}
    texts = PromptTexts({key: overrides.get(key, text) for key, text in DEFAULTS.items()})
    texts.overridden = {key for key in overrides if key in DEFAULTS}
    return texts


def prompt(key: str, **values) -> str:
    """Return the prompt text with its placeholders filled in."""
    texts = current_app.config.get("VOICE_PROMPTS") or {}
    return texts.get(key, DEFAULTS[key]).format(**values)


def spoken_number(number: str) -> str:
    """Spell a registration number digit by digit so the voice reads it clearly."""
    return ", ".join(" ".join(group) for group in number.split("-"))
