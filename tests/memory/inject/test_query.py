from memory.inject.query import QUERY_WORDS, query_texts


def test_query_texts_latest_user_first() -> None:
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "I live in Oslo"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Where  to eat?"},
                {"type": "image_url", "image_url": {"url": "x"}},
            ],
        },
    ]
    # A short follow-up is read with the user turn before it, as one text.
    assert query_texts(messages) == ["I live in Oslo Where to eat?"]
    assert query_texts([{"role": "assistant", "content": "hi"}]) == []
    assert query_texts(messages, max_turns=1) == ["Where to eat?"]


def test_query_texts_a_full_question_stands_alone() -> None:
    question = "Can you suggest a few good restaurants for dinner in Lisbon this weekend?"
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Convert this Python function to Go please"},
        {"role": "assistant", "content": "Here it is ..."},
        {"role": "user", "content": question},
    ]
    assert query_texts(messages) == [question]


def test_query_texts_caps_a_long_message_keeping_its_start_and_end() -> None:
    words = [f"w{i}" for i in range(500)]
    (text,) = query_texts([{"role": "user", "content": " ".join(words) + " what now?"}])
    kept = text.split()
    assert len(kept) == QUERY_WORDS
    assert kept[0] == "w0" and kept[-2:] == ["what", "now?"]
