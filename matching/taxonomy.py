"""Domain taxonomy shared by onboarding (discipline buttons) and the matcher.

DISCIPLINES codes are stable identifiers stored in profiles: extend labels or add
codes, never rename or remove one.  They follow the sub-markets of the German
creative industries (Kultur- und Kreativwirtschaft), cut to what a creative
recognises as "my discipline".
"""
from __future__ import annotations

DISCIPLINES: dict[str, dict[str, str]] = {
    "product_design": {"de": "Produkt- & Industriedesign", "en": "Product & industrial design"},
    "communication_design": {"de": "Kommunikations- & Grafikdesign", "en": "Communication & graphic design"},
    "brand_strategy": {"de": "Marke & Strategie", "en": "Brand & strategy"},
    "marketing": {"de": "Marketing, Werbung & Social Media", "en": "Marketing, advertising & social media"},
    "photo_film": {"de": "Foto, Film & Video", "en": "Photo, film & video"},
    "architecture": {"de": "Architektur & Innenarchitektur", "en": "Architecture & interior design"},
    "digital": {"de": "Software, Web & Games", "en": "Software, web & games"},
    "ux": {"de": "UX & Interaction Design", "en": "UX & interaction design"},
    "text": {"de": "Text, Redaktion & Übersetzung", "en": "Writing, editing & translation"},
    "art": {"de": "Bildende Kunst", "en": "Fine art"},
    "music_sound": {"de": "Musik & Sound", "en": "Music & sound"},
    "events_performance": {"de": "Events & darstellende Kunst", "en": "Events & performing arts"},
    "fashion_textile": {"de": "Mode & Textil", "en": "Fashion & textiles"},
    "innovation_business": {"de": "Innovation, Geschäftsmodelle & Moderation", "en": "Innovation, business models & facilitation"},
}
