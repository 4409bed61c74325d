"""Text that must never become a belief or reach the model as written.

Two jobs, used on every write path (learning, the belief API, observations, import) and at
rendering:
- `plain(text)`: NFKC-normalised text with HTML entities decoded, format characters
  (zero-width, bidi override) removed and control and line/paragraph separators made spaces, so
  look-alike characters and hidden text cannot pass for something else.
- `looks_like_instruction(text)`: whether a statement addresses the assistant rather than
  describing the user: commands to override or reveal its instructions, claims of authority
  over it, attempts to change its role, chat-template markup. The patterns are general
  (families of verbs and objects), not a list of known attack sentences.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Characters that NFKC leaves alone but that read as angle brackets.
_ANGLE_LOOKALIKES = str.maketrans(
    {
        "\u2039": "<",  # ‹
        "\u203a": ">",  # ›
        "\u02c2": "<",  # ˂
        "\u02c3": ">",  # ˃
        "\u2329": "<",
        "\u232a": ">",
        "\u27e8": "<",  # ⟨
        "\u27e9": ">",  # ⟩
        "\u3008": "<",  # 〈
        "\u3009": ">",  # 〉
        "\u276e": "<",  # ❮
        "\u276f": ">",  # ❯
        "\u276c": "<",
        "\u276d": ">",
        "\u1438": "<",  # ᐸ
        "\u1433": ">",  # ᐳ
        "\u00ab": "<",  # «
        "\u00bb": ">",  # »
    }
)
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _visible(ch: str) -> str:
    if ch in "\t\n\r ":
        return ch
    category = unicodedata.category(ch)
    if category not in _HIDDEN_CATEGORIES:
        return ch
    # Format characters (zero-width, bidi controls) vanish, so "Ig<ZWSP>nore" reads "Ignore";
    # controls and line/paragraph separators become spaces.
    return "" if category == "Cf" else " "


def plain(text: str) -> str:
    """The text as a reader (or a model) sees it: normalised, with hidden characters gone."""
    # Entities twice: "&amp;lt;" is a "<" once a second decoder has seen it.
    decoded = html.unescape(html.unescape(text))
    normal = unicodedata.normalize("NFKC", decoded)
    visible = "".join(_visible(ch) for ch in normal)
    return visible.translate(_ANGLE_LOOKALIKES)


def for_prompt(text: str) -> str:
    """A belief's text as it may appear inside the injected block: one line, no markup."""
    cleaned = plain(text).replace("<", "(").replace(">", ")")
    return " ".join(cleaned.split())


_ASSISTANT = (
    r"(?:you|your|yourself|u|assistant|the\s+(?:model|ai|bot|assistant|system)|ai|chatbot|bot|"
    r"chatgpt|gpt|claude|llm|language\s+model)"
)
_RULES = (
    r"(?:instructions?|rules?|guidelines?|prompts?|directives?|polic(?:y|ies)|constraints?|"
    r"restrictions?|guardrails?|filters?|programming|training|safety|safeguards?|"
    r"configuration|settings|context|messages?|orders|commands?|system)"
)
_HIDDEN = (
    r"(?:system|hidden|secret|internal|developer|initial|original|previous|prior|above|earlier|"
    r"preceding|confidential|private|underlying|base|pre-?prompt|meta)"
)
_PATTERNS = [
    # Override: ignore / disregard / bypass ... instructions, rules, the above.
    r"\b(?:ignor\w*|disregard\w*|forg[eo]t\w*|overrid\w*|overrul\w*|bypass\w*|skip\w*|"
    r"abandon\w*|discard\w*|circumvent\w*|disabl\w*|turn\w*\s+off|break\w*|violat\w*|"
    r"suspend\w*|cancel\w*|eras\w*|reset\w*|drop\w*)\b"
    r"[^.!?\n]{0,40}?\b(?:(?:previous|prior|above|earlier|preceding|initial|original|system|"
    r"all|any|every|your|its|their|these|those|safety|content|developer)\s+(?:\w+\s+)?"
    r"(?:instructions?|prompts?|guidelines?|directives?|rules|polic(?:y|ies)|programming|"
    r"guardrails?|safeguards?|restrictions|constraints|filters|training)|"
    r"(?:the\s+)?(?:text|everything|instructions?)\s+above|above\s+(?:instructions?|text))\b",
    # Exfiltration: reveal / print / repeat ... the prompt or hidden instructions.
    r"\b(?:reveal|print|output|repeat|show|display|dump|leak|disclose|expose|recite|share|"
    r"tell|give|send|copy|paste|list|echo|spell\s+out|read\s+out|write\s+out|return)\b"
    r"[^.!?\n]{0,60}?\b" + _HIDDEN + r"\b[^.!?\n]{0,20}?\b" + _RULES + r"\b",
    r"\b(?:repeat|print|output|show|display|dump|recite|copy|echo|return|write\s+out|"
    r"spell\s+out|translate)\b[^.!?\n]{0,30}?\b(?:text|words|everything|content|message|"
    r"lines?)\s+(?:above|before|preceding|prior)\b",
    r"\b(?:your|the)\s+(?:own\s+)?(?:full\s+|entire\s+|complete\s+|exact\s+)?"
    r"(?:system\s+(?:prompt|message|instructions?)|hidden\s+" + _RULES + r"|"
    r"(?:initial|original|secret|internal)\s+(?:prompt|instructions?))\b",
    # Authority over the assistant: obey, comply, do whatever ... is told.
    r"\b(?:obey|comply\s+with|submit\s+to|follow)\b[^.!?\n]{0,40}?\b"
    r"(?:me|the\s+user|users?|my\s+(?:every\s+)?(?:commands?|orders|instructions)|"
    r"any\s+(?:command|order|instruction)s?|all\s+(?:commands|orders|instructions)|"
    r"(?:these|new|following)\s+(?:instructions|rules|orders|commands))\b",
    r"\b" + _ASSISTANT + r"\s+(?:must|should|shall|will|have\s+to|has\s+to|need\s+to|are\s+to|"
    r"is\s+to|are\s+(?:required|obliged|allowed|permitted|free)\s+to|can\s+now|may\s+now)"
    r"\s+(?:now\s+|always\s+|never\s+|from\s+now\s+on\s+|henceforth\s+|no\s+longer\s+)+"
    r"(?:\w+\s+){0,3}?(?:obey|comply|reveal|ignore|disregard|pretend|disclose|forget|"
    r"bypass|override|leak)\b",
    r"\b(?:do|say|answer|output)\s+(?:whatever|anything|everything)\s+(?:i|the\s+user|users?|"
    r"they|you'?re|you\s+are)\s+(?:say|says|ask|asks|want|wants|tell|tells|told|command)",
    r"\b(?:do\s+anything\s+now|jailbr(?:eak|oken)|developer\s+mode|god\s+mode|dan\s+mode|"
    r"unfiltered\s+mode|no\s+restrictions|without\s+(?:any\s+)?(?:restrictions|limits|"
    r"filters|rules|guidelines|censorship)|unrestricted\s+(?:mode|ai|assistant|access))\b",
    # Role change: you are now ..., act as / pretend to be ..., new persona.
    r"\b" + _ASSISTANT + r"\s+(?:are|is)\s+(?:now|no\s+longer|henceforth|from\s+now\s+on)\b",
    r"\b(?:from\s+now\s+on|henceforth|starting\s+now)\b[^.!?\n]{0,40}?\b" + _ASSISTANT + r"\b",
    r"\b(?:pretend|act|behave|roleplay|role-play)\s+(?:to\s+be\s+|as\s+(?:if\s+)?(?:you\s+"
    r"(?:are|were)\s+)?|like\s+)(?:an?\s+|the\s+)?(?:unrestricted|unfiltered|evil|different|"
    r"new|another|system|admin|administrator|root|developer|ai|assistant|model|dan)\b",
    # Claims of being the system, its maker or an AI that must obey.
    r"\b(?:i\s+am|i'?m)\s+(?:an?\s+|the\s+)?(?:ai|a\.i\.|language\s+model|llm|chatbot|bot|"
    r"assistant)\b[^.!?\n]{0,60}?\b(?:must|obey|comply|follow|command|instruct|override)",
    r"\b(?:i\s+am|i'?m)\s+(?:your|the\s+assistant'?s|the\s+ai'?s|the\s+bot'?s)\s+(?:\w+\s+)?"
    r"(?:developer|creator|owner|programmer|operator|administrator|admin|maker|master|boss)\b",
    r"\b(?:developer|creator|owner|programmer|operator|administrator|admin|maker)\s+of\s+"
    r"(?:this|the|you)\s*(?:assistant|ai|bot|model|chatbot|system)?\b[^.!?\n]{0,60}?"
    r"\b(?:authori[sz]e|override|command|instruct|allow|permit|order)",
    r"\b(?:as|with)\s+(?:an?\s+)?(?:admin|administrator|root|system|developer|operator|"
    r"sudo|superuser)\s+(?:privileges?|access|rights|permissions?|authority|override)\b",
    r"\b(?:new|updated|real|actual|true|secret|additional|override)\s+(?:system\s+)?"
    r"(?:instructions?|rules|directives?|system\s+prompt)\s*(?::|follow|are|is)",
    r"\bsystem\s+(?:prompt|override|message|instruction)s?\b",
    r"\bprompt\s+injection\b",
    # Markup that opens, closes or fakes a turn or our block.
    r"(?:<|<\s*/\s*)(?:user_model|system|assistant|user|instructions?|im_start|im_end|inst|"
    r"sys|context|tool|developer)\b[^<>]{0,40}>",
    r"<\s*/?\s*user_model\b",
    r"<\|[^|>]{1,40}\|>",
    r"\[/?(?:inst|sys|system|assistant)\]",
    r"<<\s*/?\s*sys\s*>>",
    r"(?:^|\n)\s*#{1,6}\s*(?:system|instructions?|assistant)\b",
    r"(?:^|\n)\s*(?:system|assistant|developer)\s*:",
    # Imperatives about what to say, reveal or never mention, aimed at the reader.
    r"^\s*(?:always|never|do\s+not|don'?t|you\s+must|must)\s+(?:say|tell|reveal|answer|"
    r"respond|reply|mention|use|output|print|refuse|obey|follow|ignore|disclose)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def looks_like_instruction(text: str) -> bool:
    """Whether `text` is an instruction aimed at the assistant rather than a fact about the user."""
    return bool(_INSTRUCTION.search(" ".join(plain(text).split())))
