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


# ---------------------------------------------------------------------------
# Challenge types: what a company struggles with ↔ what a creative offers.
#
# Keyword syntax (text is folded first: lower case, ä → ae, ß → ss):
#   "stem"       substring anywhere in a word, so it survives compounds
#                ("verpackung" in "Kaffeeverpackungen")
#   "^stem"      at the start of a word        "stem$"  at the end of a word
#   "=word"      the whole word only ("=ux", "=app")
#   "a b c"      a phrase: consecutive words, the last one may continue
#   suffix ":w"  weight (default 1.0), e.g. "foto:0.5"
# Where stems overlap inside one word the longest wins, so "workshop" does not
# count as "shop" and "markenarchitektur" not as "architektur".  `need` is the
# problem vocabulary companies use, `skill` the solution vocabulary creatives
# use; both are matched on both sides.  `disciplines` says which creative
# disciplines (codes of DISCIPLINES) typically solve the challenge.
# Codes are stable identifiers (stored with feedback later): add, don't rename.
# ---------------------------------------------------------------------------

CHALLENGE_TYPES: dict[str, dict] = {
    "recruiting": {
        "label": {"de": "Nachwuchs & Fachkräfte gewinnen", "en": "Recruiting & young talent"},
        "disciplines": {"marketing": 1.0, "photo_film": 1.0, "communication_design": 0.5, "text": 0.4, "brand_strategy": 0.4},
        "need": [
            "nachwuchs", "azubi", "auszubild", "ausbildungspl", "ausbildungsber", "ausbildung:0.7", "lehrling",
            "lehrstell", "fachkraeft", "fachkraft", "arbeitskraeft", "personalmangel", "personalsuch",
            "mitarbeitersuch", "mitarbeitergewinn", "personalgewinn", "bewerb", "bewirbt", "stellenanzeig",
            "stellenausschreib", "offene stellen", "stellen besetz", "schulabgaeng", "schulabschluss",
            "berufsorientier", "praktikant", "praktikum", "junge leute:0.6", "jugendlich",
            "fluktuation", "belegschaft:0.5", "demograf", "altersstruktur", "=beruf:0.6", "=berufe:0.6", "=berufs:0.6", "ausbildungsberuf", "jung mensch:0.6", "kuendig", "apprentic", "trainee", "recruit", "hiring", "=hire", "talent",
            "skilled worker", "labour shortage", "labor shortage", "staff shortage", "vacanc", "job ad",
            "applicant", "recruitment", "job seeker", "candidates:0.6", "staff turnover", "ageing workforce", "mitarbeiterbindung:0.6", "arbeitgeber:0.6", "school leaver", "graduate", "young people", "workforce", "retention",
        ],
        "skill": [
            "recruiting", "employer brand", "employer-brand", "arbeitgebermarke", "arbeitgeberattrakt",
            "arbeitgeberimage", "karriereseite", "karrierewebsite", "karriere", "jobportal", "jobbörse",
            "azubimarketing", "azubi-marketing", "ausbildungsmarketing", "personalmarketing",
            "mitarbeitend:0.5", "mitarbeiterportr", "career page", "careers", "career site", "job video",
            "stellenanzeig",
        ],
    },
    "ecommerce": {
        "label": {"de": "Online-Verkauf & Shop", "en": "Online sales & e-commerce"},
        "disciplines": {"digital": 1.0, "photo_film": 0.5, "marketing": 0.5, "ux": 0.3, "communication_design": 0.3},
        "need": [
            "online verkauf", "online zu verkauf", "online vertreib", "im internet verkauf", "onlineverkauf",
            "onlinehandel", "onlinevertrieb", "internetverkauf", "versandhandel", "versand:0.5", "endkund:0.5",
            "direktvertrieb", "direktverkauf", "marktplatz", "=amazon", "=etsy", "=ebay", "sell online",
            "selling online", "online sales", "online store", "online bestell", "online orders", "=shipping:0.5", "marketplace", "lieferdienst:0.5", "versandkosten", "direct to consumer", "=d2c", "=dtc",
                    ],
        "skill": [
            "onlineshop", "online-shop", "webshop", "shop", "shopify", "woocommerce", "shopware", "magento",
            "commerce", "produktfoto", "produktbild", "produktfotograf", "product photo", "product shot",
            "packshot", "freisteller", "produktkonfigurator", "konfigurator", "configurator",
            "warenwirtschaft", "checkout", "conversion", "=shops",
        ],
    },
    "imagery": {
        "label": {"de": "Bilder, Fotos & Filme", "en": "Photos, film & imagery"},
        "disciplines": {"photo_film": 1.0, "communication_design": 0.3, "digital": 0.2},
        "need": [
            "fotos", "foto:0.7", "bilder", "bild:0.6", "film:0.7", "video:0.7", "zeigen:0.4", "anschaulich",
            "photos", "pictures", "images", "imagery", "visuals", "footage", "show our work",         ],
        "skill": [
            "fotograf", "photograph", "fotostudio", "studioaufnahm", "aufnahm:0.5",
            "imagefilm", "filmemach", "filmproduk", "videoproduk", "videograf", "videograph", "videojournal",
            "kamera", "camera", "drohne", "drone", "bewegtbild", "reportagefoto", "reportage:0.6", "portraet",
            "portrait", "lookbook", "rendering", "render", "visualisier", "visualis", "visualiz", "animation",
            "3d-modell", "=3d", "erklaervideo", "erklaerfilm", "explainer", "=reels", "=reel",             "bildsprache", "bildwelt", "bildmaterial", "fotoshooting", "photo shoot", "werbefilm", "produktvideo", "video production",
        ],
    },
    "brand": {
        "label": {"de": "Marke & Positionierung", "en": "Brand & positioning"},
        "disciplines": {"brand_strategy": 1.0, "communication_design": 0.8, "text": 0.5, "marketing": 0.3},
        "need": [
            "marke", "verstaubt", "altbacken", "altmodisch", "angestaubt", "veraltet:0.6", "in die jahre",
            "image", "imagewandel", "auftritt", "erscheinungsbild", "wahrnehmung", "=wirkt:0.4", "unverwechselbar",
            "austauschbar", "profil:0.6", "positionier", "identitaet", "tradition:0.6", "traditionell:0.5",
            "rebrand", "relaunch", "hochwertig:0.5", "premium:0.5", "brand", "dusty",
            "old-fashioned", "old fashioned", "outdated:0.6", "identity", "perceived", "perception",
            "heritage:0.6", "reputation", "=namen:0.6", "=name:0.4", "namensgeb", "wertversprechen", "value proposition", "alleinstellung", "=usp", "unique selling", "markenwert", "lieblos:0.4", "differentiat", "unterscheid:0.5",
        ],
        "skill": [
            "markenberat", "markenstrateg", "markenkern", "markenarchitektur", "markenentwickl", "markenbild",
            "markenidentit", "markenauftritt", "markenfuehr", "markenraum:0.5", "namensfind", "namensentwickl", "naming",
            "corporate design", "corporate identity", "corporate-design", "kommunikationsdesign:0.5", "logo", "geschaeftsausstatt", "=claim", "slogan",
            "tagline", "brand voice", "brand strateg", "branding", "tonalitaet", "tone of voice",
            "storytelling:0.7", "leitbild", "markenstory", "brand story",
        ],
    },
    "visibility": {
        "label": {"de": "Sichtbarkeit, Marketing & Social Media", "en": "Visibility, marketing & social media"},
        "disciplines": {"marketing": 1.0, "digital": 0.5, "communication_design": 0.4, "text": 0.4, "photo_film": 0.3},
        "need": [
            "sichtbar", "unsichtbar", "bekanntheit", "bekannter", "unbekannt", "bekannt:0.7", "=kennt:0.4", "kundschaft:0.5", "bewertungen:0.5", "=reviews:0.5", "advertising", "followers",             "gefunden", "reichweite", "mundpropaganda", "weiterempfehl", "empfehlung:0.5", "werbung",
            "neukund", "kundengewinn", "neue kunden", "kunden gewinn", "anfragen", "homepage", "website:0.6",
            "internetauftritt", "internetseite", "webseite", "internet:0.6", "=google", "online:0.4",
            "visibility", "visible", "invisible", "awareness", "reach", "nobody finds", "word of mouth",
            "leads", "new customers", "attract customers", "online presence", "be seen",         ],
        "skill": [
            "social media", "social-media", "instagram", "tiktok", "facebook", "linkedin", "youtube",
            "pinterest", "redaktionsplan", "content:0.7", "community", "kampagne", "campaign", "paid social",
            "=ads", "anzeigen:0.6", "werbeanzeig", "=seo", "suchmaschin", "search engine", "google ads",
            "unternehmensprofil", "business profile", "newsletter:0.6", "email marketing", "e-mail-marketing",
            "growth", "marketer", "performance marketing", "onlinemarketing", "online marketing", "online-marketing",
            "marketing", "influencer", "=pr", "pressearbeit", "oeffentlichkeitsarbeit", "public relations",
            "webdesign", "wordpress", "landing page", "landingpage", "analytics", "a/b",
        ],
    },
    "export": {
        "label": {"de": "Export, Internationalisierung & Übersetzung", "en": "Export, internationalisation & translation"},
        "disciplines": {"text": 1.0, "marketing": 0.5, "communication_design": 0.3},
        "need": [
            "export", "ausland", "international", "neue maerkte", "auslandsmarkt",             "auf englisch", "fremdsprach", "polen", "polnisch", "frankreich", "franzoes", "skandinav",
            "schwed", "daenemark", "daenisch", "norweg", "finnland", "finnisch", "niederland", "niederlaend",
            "hollaend", "belgien", "oesterreich:0.5", "schweiz:0.5", "italien", "spanien", "spanisch",
            "tschech", "ungarn", "rumaen", "=usa", "amerika", "china", "chines", "japan", "indien", "tuerk",
            "ukrain", "russ", "englisch:0.6", "abroad", "auslaendisch", "weltweit:0.5", "foreign:0.6", "foreign market", "new markets", "overseas", "poland",
            "polish", "france", "french", "scandinavia", "sweden", "swedish", "denmark", "danish", "norway",
            "spain", "italy", "italian", "netherlands", "dutch", "chinese",         ],
        "skill": [
            "uebersetz", "translat", "dolmetsch", "interpret", "lokalisier", "localis", "localiz",
            "mehrsprachig", "multilingual", "zweisprachig", "bilingual", "interkulturell", "intercultural",
            "exportmarketing", "auslandsmarketing", "international marketing", "fachuebersetz",
        ],
    },
    "succession_strategy": {
        "label": {"de": "Nachfolge, Strategie & Zukunft", "en": "Succession, strategy & future"},
        "disciplines": {"innovation_business": 1.0, "brand_strategy": 0.3},
        "need": [
            "nachfolg", "uebergabe", "uebergeben", "betriebsuebernahme", "uebernehm", "uebernahme", "in rente",
            "ruhestand", "aufhoer", "hoert auf", "weiterfuehr", "weitergeh", "zukunft", "strategie",
            "generationswechsel", "naechste generation", "inhaber:0.5", "unternehmensplan",
            "planen:0.4", "succession", "successor", "hand over", "handover", "retire", "next generation",
            "strategy", "future", "long-term", "owner:0.5", "veraender", "umbruch", "wandel:0.6",
        ],
        "skill": [
            "nachfolgeplan", "nachfolgeberat", "betriebsuebergab", "moderation", "moderator", "moderier", "coach",
            "zukunftsworkshop", "strategieprozess", "strategieworkshop", "strategieberat", "familienunternehm",
            "familienbetrieb", "organisationsentwickl", "organisationsberat",
            "change management", "veraenderungsprozess", "mediation", "facilitat", "foresight",
            "zukunftsstrateg", "workshop:0.6", "szenario",
        ],
    },
    "sustainability": {
        "label": {"de": "Nachhaltigkeit & Kreislaufwirtschaft", "en": "Sustainability & circularity"},
        "disciplines": {"innovation_business": 0.8, "product_design": 0.8, "communication_design": 0.2, "architecture": 0.2},
        "need": [
            "nachhaltig", "recycl", "recyceln", "kreislauf", "umwelt", "=co2", "co2-", "klimaneutr",
            "klimaschutz", "klimabilanz", "klimafreundl", "abfall", "muell", "verschwend", "reststoff",
            "ressourcen", "fussabdruck", "verbrauch:0.6", "emission", "oeko", "plastik", "einweg",
            "chemikal:0.5", "chemical:0.5", "wiederverwert", "entsorg", "sustainab", "circular", "waste", "carbon",
            "footprint", "environment", "=eco", "=green", "greenwash", "climate", "resource", "reuse",
        ],
        "skill": [
            "kreislaufwirtschaft", "circular economy", "ruecknahm", "take-back", "take back", "reparier",
            "reparatur:0.6", "repair", "materialpass", "material passport", "oekobilanz", "lebenszykl",
            "life-cycle", "life cycle", "lifecycle", "=lca", "eco-design", "ecodesign", "oekodesign", "=csr",
            "=esg", "nachhaltigkeitsbericht", "nachhaltigkeitsberat", "upcycl", "cradle", "dekarbonis",
            "decarbonis", "=vsme", "=csrd", "lieferkette:0.6", "supply chain:0.6", "sustainability report", "materialkreisl",
        ],
    },
    "product_development": {
        "label": {"de": "Produktentwicklung & neue Kollektion", "en": "Product development & new collection"},
        "disciplines": {"product_design": 1.0, "fashion_textile": 0.4, "art": 0.3, "innovation_business": 0.3},
        "need": [
            "neue produkte", "neues produkt", "neuen produkt", "produktentwickl", "kollektion", "sortiment",
            "eigene produkte", "eigenes produkt", "herausbring", "auf den markt", "produktlinie",
            "produktidee", "entwerfen:0.7", "entwickeln:0.4", "diversifi", "standbein",
            "neuheit", "nachfrag:0.5", "new product", "product line", "collection", "product range", "product idea",
            "diversify", "new designs", "privatkund:0.5", "endverbrauch:0.5", "=b2c:0.5", "consumer:0.5", "private home:0.5", "line of:0.7", "range of:0.5", "launch:0.6",
        ],
        "skill": [
            "produktdesign", "product design", "industriedesign", "industrial design", "produktgestalt",
            "formgebung", "entwurf", "entwuerf", "prototyp", "prototype", "modellbau", "kleinserie",
            "small batch", "materialexperiment", "material:0.5", "werkstoff:0.5", "manufaktur:0.5",
            "moebeldesign", "furniture design",             "objektdesign", "designobjekt", "serienreif", "=serie:0.5", "=series:0.4", "produktentwurf", "nebenprodukt", "by-product", "verwert:0.5", "=cad", "3d-druck", "3d printing",
        ],
    },
    "ux_digital_products": {
        "label": {"de": "Bedienung, UX & digitale Produkte", "en": "Usability, UX & digital products"},
        "disciplines": {"ux": 1.0, "digital": 0.7, "product_design": 0.3},
        "need": [
            "bedien", "kompliziert", "umstaendlich", "verwirrend", "unverstaendlich", "versteht niemand",
            "verstehen nur", "fehlbedien", "handhabung", "benutzerfreundl", "anwenderfreundl",
            "einricht:0.4", "konfigurationssoftware", "software:0.6", "=app", "=apps", "display", "steuerung:0.6",
            "confusing", "usability", "user-friendly", "user friendly", "operator",             "interface", "configuration", "complicated", "hard to use", "difficult to use",             "=ui", "=ux", "=setup:0.5", "mistake:0.5", "=support:0.4", "=hmi", "touchscreen", "bedienpanel", "bedienfeld", "touch panel", "control panel",
        ],
        "skill": [
            "interaction design", "interaktionsdesign", "interaction designer", "bedienkonzept",
            "benutzeroberflaech", "bedienoberflaech", "user interface", "ui design", "ui designer",
            "ux design", "ux-design", "user experience", "nutzertest", "user test", "usability-test",
            "usability test", "wireframe", "klickprototyp", "clickable prototype", "=hmi", "screen design",
            "nutzerzentriert", "human-centered", "human centered", "nutzerfreundl", "nutzerfuehr",
        ],
    },
    "space_design": {
        "label": {"de": "Laden, Showroom & Raumgestaltung", "en": "Shop, showroom & space design"},
        "disciplines": {"architecture": 1.0, "communication_design": 0.3, "product_design": 0.2},
        "need": [
            "laden", "laeden", "geschaeft:0.6", "geschaefte:0.6", "filiale", "verkaufsraum", "verkaufsraeum",
            "verkaufsflaech", "showroom", "ausstellungsraum", "empfangsbereich", "dunkel", "unuebersichtlich",
            "zurechtfind", "praxisraeum", "raeume:0.6", "raum:0.4",
            "shop floor", "retail space", "premises:0.6", "cluttered", "find their way",
            "salesroom", "showrooms", "empfang", "wartebereich", "wartezimmer", "wartezone", "flur:0.6", "wohlfuehl", "schaufenster", "=theke", "=theken", "ladeneinricht", "warenpraesent", "shop window", "store design", "shopfitting", "shop fitting", "product presentation:0.6", "atmosphaere:0.6", "gemuetlich", "einladend:0.6", "beengt", "waiting area", "waiting room", "reception", "lobby", "welcoming", "atmosphere:0.6", "=stores", "storefront", "in-store", "store layout", "shop layout", "orientierung:0.5",
        ],
        "skill": [
            "innenarchitekt", "interior", "ladenbau", "shop design", "shopdesign", "retail design",
            "ladengestalt", "raumkonzept", "raumgestalt", "farbkonzept", "materialkonzept",
            "lichtplan", "lichtkonzept", "beleuchtung", "kundenfuehrung", "kundenlauf", "wegeleit",
            "leitsystem", "signaletik", "wayfinding", "visual merchandising", "einrichtungskonzept",
            "filialgestalt", "lighting", "visitor guidance", "ladenbauer", "gastronomie:0.4",
        ],
    },
    "sales_communication": {
        "label": {"de": "Vertrieb, Präsentation & Kundengespräch", "en": "Sales communication & presentation"},
        "disciplines": {"innovation_business": 0.5, "text": 0.5, "communication_design": 0.5, "brand_strategy": 0.3, "events_performance": 0.3},
        "need": [
            "vertrieb", "vertriebsleut", "verkaeufer", "verkaufsgespraech", "zu technisch", "praesentation",
            "=pitch", "ueberzeug", "kundengespraech", "beratungsgespraech", "reklamation",
            "kommunikation:0.5", "angebote verlier", "salespeople", "sales team", "sales rep", "too technical",
            "presentation", "pitches", "convince", "lose deals", "losing deals", "auftragsverlust", "negotiat", "verhandl", "preisverhandl", "nutzenargument", "verkaufsargument", "begruenden:0.5", "value selling", "objection", "tender",
        ],
        "skill": [
            "kommunikationstrain", "verkaufstrain", "vertriebstrain", "praesentationstrain", "rhetorik",
            "pitch training", "sales training", "verhandlungstrain", "gespraechsfuehr", "sales deck",
            "pitch deck", "praesentationsdesign", "vortrag", "public speaking", "trainer:0.6", "training:0.5",
        ],
    },
    "data_reporting": {
        "label": {"de": "Daten, Transparenz & Berichte", "en": "Data, transparency & reporting"},
        "disciplines": {"communication_design": 0.8, "digital": 0.8, "ux": 0.4},
        "need": [
            "zahlen", "kennzahl", "liste:0.5", "listen:0.5", "tabelle", "excel", "transparen", "ueberblick",
            "uebersicht:0.6", "auswert", "bericht:0.6", "controlling", "daten", "auftragsstand", "status:0.5",
            "zettel", "papier:0.5", "numbers", "figures", "spreadsheet", "transparency", "overview",
            "reporting", "=data", "=kpi", "=kpis",         ],
        "skill": [
            "dashboard", "datenvisualis", "data visual", "data design", "infografik", "infographic",
            "informationsdesign", "information design", "visual report", "reporting", "datenanalys",
            "data analy", "business intelligence", "power bi",             "aufbereit:0.5",         ],
    },
    "packaging": {
        "label": {"de": "Verpackung & Etikett", "en": "Packaging & labels"},
        "disciplines": {"communication_design": 1.0, "product_design": 0.6},
        "need": [
            "verpackung", "packung", "etikett", "flasche", "=dose", "=dosen", "regal:0.5", "supermarkt",
            "point of sale", "geschenk", "packaging", "label", "bottle", "shelf", "=box", "=boxes", "gift",
            "unboxing",
        ],
        "skill": [
            "verpackungsdesign", "packaging design", "labeldesign", "label design", "druckproduktion",
            "print production", "faltschachtel", "flaschendesign", "flaschengestalt", "druckveredel",
        ],
    },
    "events": {
        "label": {"de": "Events, Feste & Tag der offenen Tür", "en": "Events, celebrations & open days"},
        "disciplines": {"events_performance": 1.0, "photo_film": 0.2, "communication_design": 0.2, "music_sound": 0.2},
        "need": [
            "jubilae", "fest$", "=feste", "festival", "feier", "tag der offenen", "veranstaltung", "event:0.8",
            "kundenevent", "einweihung", "eroeffnung", "firmenfest", "hausmesse:0.5", "anniversary", "open day",
            "open house", "konzert", "publikum", "zuschauer", "audience", "concert", "celebrat", "launch event", "=party",
        ],
        "skill": [
            "eventkonzept", "eventmanag", "eventplan", "eventagentur", "veranstaltungsplan", "veranstaltungstechn",
            "hausmesse", "einladung:0.5", "live-kommunikation", "live communication", "eventdesign", "event design",
            "event manager", "event planner", "kulturmanag", "konzertreihe",
        ],
    },
    "trade_fairs": {
        "label": {"de": "Messen & Ausstellungen", "en": "Trade fairs & exhibitions"},
        "disciplines": {"architecture": 1.0, "events_performance": 0.6, "communication_design": 0.5},
        "need": [
            "messe", "fachmesse", "messeauftritt", "ausstellen", "ausstellung:0.6", "trade fair", "trade show",
            "exhibition", "=fair:0.6", "=fairs", "hausmesse:0.5", "=stand:0.4",
        ],
        "skill": [
            "messebau", "messestand", "standbau", "messegestalt", "ausstellungsgestalt", "ausstellungsarchitekt",
            "szenograf", "scenograph", "exhibition design", "booth", "exhibition stand",
        ],
    },
    "building": {
        "label": {"de": "Gebäude, Hallen & Umbau", "en": "Buildings, production halls & conversion"},
        "disciplines": {"architecture": 1.0, "art": 0.2},
        "need": [
            "halle", "werkhalle", "produktionshalle", "neubau", "umbau", "gebaeude", "erweiter:0.6",
            "platzmangel", "zu eng", "bauen:0.6", "sanier", "standort:0.5", "grundstueck", "betriebsgelaende",
            "fassade", "energieverbrauch", "building", "factory hall", "production hall", "extension",
            "renovat", "new site", "premises:0.4", "floor space",
        ],
        "skill": [
            "architekt", "architect", "werkhallen", "industriebau", "gewerbebau", "umnutzung", "bestandsbau",
            "energieeffizien", "bauplan", "entwurfsplan", "nachhaltiges bauen", "holzbau:0.5",
            "adaptive reuse", "kunst am bau:0.5",
        ],
    },
    "customer_insight": {
        "label": {"de": "Kundenverständnis & Nutzerforschung", "en": "Customer insight & research"},
        "disciplines": {"ux": 1.0, "innovation_business": 0.6, "marketing": 0.3},
        "need": [
            "wissen nicht warum", "zufrieden",
            "beschwer", "retour", "zurueckschick", "zurueckgeb", "zurueck:0.4", "beduerfnis", "zielgruppe",
            "kundenbindung", "kommen nicht wieder", "abwander", "kundenwunsch", "kundenwuensch",
            "send back", "sent back", "returns", "churn", "complain",
            "satisfaction", "target group", "customer needs", "loyalty", "understand our customers", "why customers", "why buyers", "warum kunden",
            "don't know why", "know why", "=why:0.5", "=warum:0.5",
        ],
        "skill": [
            "ux-research", "ux research", "researcher", "research:0.6", "nutzerforsch", "interview",
            "befragung", "umfrage", "customer journey", "persona", "service design", "service blueprint",
            "ethnograf", "ethnograph", "field research", "field stud", "feldforsch", "usability-test:0.5",
            "marktforsch", "market research", "design research", "design thinking:0.5", "kundenerlebnis",
            "customer experience", "nutzertest:0.5", "=survey", "=surveys", "customer research", "user research", "kundenbefrag",
        ],
    },
    "pricing_business_model": {
        "label": {"de": "Preise, Geschäftsmodell & Abo", "en": "Pricing, business models & subscriptions"},
        "disciplines": {"innovation_business": 1.0, "digital": 0.2, "marketing": 0.2},
        "need": [
            "preis", "kalkul", "verlangen:0.5", "marge", "lohnt sich nicht", "umsatz", "einnahm", "erloes",
            "^abo", "abo$", "abonnement", "gebuehr", "geschaeftsmodell", "neue angebote",             "dienstleistung:0.5", "wartungsvertrag", "miete:0.5", "leasing", "=geld", "pricing", "=price",
            "=prices", "margin", "revenue", "subscription", "business model", "recurring", "=fee", "=fees",
            "rental", "monetis", "monetiz", "profitab", "billig:0.5", "preisdruck", "preiskampf", "konkurrenz:0.4", "wettbewerb:0.4", "=cheap:0.5", "price pressure", "competitor:0.4", "undercut",
        ],
        "skill": [
            "geschaeftsmodellentwickl", "preisliste", "business model", "erloesmodell", "revenue model", "preisgestalt",
            "preisstrateg", "preismodell", "abo-modell", "abomodell", "mitgliedschaft", "membership",
            "servicevertrag", "as a service", "servicemodell", "lizenz", "plattformmodell",
        ],
    },
    "digital_tools": {
        "label": {"de": "Digitalisierung & Software für Abläufe", "en": "Digital tools & process software"},
        "disciplines": {"digital": 1.0, "ux": 0.4},
        "need": [
            "digitalisier", "zettelwirtschaft", "von hand", "manuell", "termin:0.5", "online buchen",
            "prozesse:0.6", "ablaeufe:0.6", "automatis", "=excel:0.5", "doppelt:0.4", "digitalis", "digitaliz",
            "paperwork", "manual work", "by hand", "workflow", "booking",
        ],
        "skill": [
            "webentwickl", "softwareentwickl", "app-entwickl", "appentwickl", "programmier", "schnittstell",
            "=api", "=apis", "=erp", "warenwirtschaft", "=crm", "buchungssystem", "terminbuch", "datenbank",
            "database", "web app", "webapp", "low-code", "no-code", "developer", "entwickler",
            "web development", "software development", "integration:0.5", "automation:0.6",
        ],
    },
    "storytelling_content": {
        "label": {"de": "Geschichten, Texte & Inhalte", "en": "Storytelling, copy & content"},
        "disciplines": {"text": 1.0, "photo_film": 0.5, "brand_strategy": 0.4, "marketing": 0.3},
        "need": [
            "geschichte", "erzaehl",             "texte", "beschreib:0.4", "story", "stories",
            "nobody knows", "what we do", "tell our",
        ],
        "skill": [
            "storytell", "texter", "copywrit", "redakteur", "redaktion", "reportage", "journalist",
            "unternehmensgeschicht", "corporate publishing", "=blog", "magazin", "autorin", "=autor",
            "writer", "editorial", "content marketing", "podcast:0.6",         ],
    },
    "art_culture": {
        "label": {"de": "Kunst & Kultur im Betrieb", "en": "Art & culture in the company"},
        "disciplines": {"art": 1.0, "architecture": 0.3, "events_performance": 0.3},
        "need": [
            "kunst", "atmosphaere", "kultur:0.5", "inspir", "foyer", "kreativitaet", "art in", "artwork",
            "atmosphere",
        ],
        "skill": [
            "kuenstler", "artist", "kunst am bau", "installation", "lichtinstallation", "projektion",
            "projection", "skulptur", "sculpt", "bildhauer", "wandgestalt", "mural", "malerei", "painting",
            "kunstprojekt", "art project",
        ],
    },
    "sound": {
        "label": {"de": "Klang & Sound", "en": "Sound & music"},
        "disciplines": {"music_sound": 1.0},
        "need": ["klang", "geraeusch", "akustik", "=sound", "jingle", "hoeren:0.5", "noise", "acoustic"],
        "skill": [
            "sounddesign", "sound design", "soundlogo", "sound logo", "audio branding", "audiobrand",
            "klanggestalt", "musik", "music", "komponist", "composer", "podcast",
        ],
    },
    "textiles_fashion": {
        "label": {"de": "Textil, Stoffe & Bekleidung", "en": "Textiles, fabrics & clothing"},
        "disciplines": {"fashion_textile": 1.0, "product_design": 0.3},
        "need": [
            "stoff", "textil", "=bezuege", "moebelbez", "polster", "arbeitskleidung", "berufsbekleid", "uniform",
            "dresscode", "fabric", "upholster", "workwear", "garment",
        ],
        "skill": [
            "textildesign", "textile design", "modedesign", "fashion design", "schnittentwickl", "schnitte",
            "muster:0.6", "pattern:0.6", "heimtextil", "polsterbez", "workwear", "kollektionsentwickl", "weberei",
            "strick",
        ],
    },
    "knowledge_training": {
        "label": {"de": "Wissen, Anleitungen & Schulung", "en": "Knowledge, manuals & training"},
        "disciplines": {"text": 1.0, "photo_film": 0.4, "ux": 0.3, "communication_design": 0.3},
        "need": [
            "einarbeit", "schulung", "wissen weiter", "wissenstransfer", "anleitung", "fehler:0.4",
            "dokumentation", "handbuch", "erklaerungsbeduerft", "erklaeren", "training material",
            "manual", "instructions", "documentation", "knowledge transfer", "onboarding",
        ],
        "skill": [
            "technische redakt", "technischer redakt", "technical writ", "e-learning", "elearning",
            "lernvideo", "schulungsvideo", "tutorial", "bedienungsanleit", "betriebsanleit", "online-hilfe",
            "onlinehilfe", "schulungskonzept", "didaktik", "instructional design", "verstaendliche texte",
            "erklaervideo:0.5", "schulungsunterlag", "kurzanleitung", "einweisung", "user manual", "quick guide", "work instruction",
        ],
    },
}

# Stems that only exist to stop a shorter stem from matching inside them
# (longest match wins): "workshop" is no shop, "ausbildung" no picture.
BLOCKERS: tuple[str, ...] = (
    "workshop", "shopping", "ausbild", "bildung", "bildschirm", "bildhauer", "abbildung", "einbild",
    "einlad", "markenarchitekt", "schaumstoff", "daemmstoff", "klebstoff", "brennstoff", "kraftstoff", "sauerstoff", "wasserstoff", "farbstoff", "netzwerk", "prevent", "personal", "kandidat", "datenschutz", "oekonom", "hochlad", "herunterlad", "entlad", "beladen", "verladen", "aufladen", "download", "angemessen",
    "bemessen", "vermessen", "ermessen", "gemessen", "messer", "messtechn", "festleg", "festgeleg",
    "festplatt", "festanstell", "festhalt", "feierabend", "steckdose", "kunststoff", "rohstoff",
    "bezahl", "zahlung", "geschaeftsfuehr",     "inhaltsstoff", "gruende", "sporthalle", )

# Words that point to a discipline directly (a creative's profession, or a
# company naming the kind of help it wants).
DISCIPLINE_KEYWORDS: dict[str, list[str]] = {
    "product_design": ["produktdesign", "product design", "industriedesign", "industrial design", "moebeldesign",
                       "objektdesign", "formgebung", "produktgestalt", "prototyp"],
    "communication_design": ["grafik", "graphic", "kommunikationsdesign", "communication design", "layout",
                             "typograf", "typograph", "illustrat", "corporate design", "informationsdesign",
                             "infografik", "infographic", "verpackungsdesign", "packaging design", "editorial design",
                             "=print", "data design", "data visual", "datenvisual", "druck:0.5", "etikett:0.5", "broschuer", "brochure" , "plakat", "speisekart", "beschilder", "signage"],
    "brand_strategy": ["markenberat", "markenstrateg", "brand strateg", "branding", "positionierung", "naming",
                       "namensfind", "markenkern", "brand consult"],
    "marketing": ["marketing", "social media", "social-media", "werbung", "kampagne", "campaign", "=seo",
                  "=ads", "=pr", "influencer", "community", "instagram", "tiktok", "linkedin", "growth"],
    "photo_film": ["fotograf", "photograph", "=foto", "fotos", "photo", "film", "video", "kamera", "camera",
                   "drohne", "bewegtbild"],
    "architecture": ["architekt", "architect", "innenarchitekt", "interior", "raumgestalt", "szenograf",
                     "scenograph", "lichtplan", "ladenbau", "messebau" , "shopfitt", "retail design", "exhibition design"],
    "digital": ["software", "webentwickl", "web developer", "webdesign", "entwickler", "developer", "programmier",
                "=app", "=apps", "game", "=3d", "3d-", "shopify", "wordpress", "dashboard", "schnittstell", "=ki", "=ai",
                "=vr", "=ar", "konfigurator", "configurator", "website"],
    "ux": ["=ux", "=ui", "ux-", "usability", "interaction design", "interaktionsdesign", "user research",
           "ux research", "bedienkonzept", "benutzeroberflaech", "service design", "nutzertest", "user interface", "ethnograf", "ethnograph", "design research", "researcher", "persona"],
    "text": ["texter", "copywrit", "redakt", "journalist", "uebersetz", "translat", "lektor", "autorin", "=autor",
             "writer", "storytell", "=text", "texte"],
    "art": ["kuenstler", "artist", "kunst", "skulptur", "bildhauer", "installation", "malerei", "painter",
            "=art", "fine art"],
    "music_sound": ["musik", "music", "sound", "klang", "audio", "komponist", "composer", "podcast"],
    "events_performance": ["event", "veranstaltung", "messe", "theater", "theatre", "performance", "schauspiel",
                           "festival", "buehne", "stage"],
    "fashion_textile": ["=mode", "mode$", "modedesign", "modelabel", "fashion", "textil", "stoff", "schneider", "bekleidung", "workwear", "muster",
                        "=fabrics"],
    "innovation_business": ["geschaeftsmodell", "business model", "innovation", "berater", "beraterin",
                            "consult", "coach", "moderat", "facilitat", "strategie", "strategy", "workshop",
                            "trainer"],
}

# Sectors: what a company is, what a creative specialises in or wishes for.
# Onboarding stores `sector` as free text; these keywords map it (and the
# `offers` / `seeks` texts) onto a few coarse sectors.
SECTORS: dict[str, dict] = {
    "crafts": {
        "label": {"de": "Handwerk", "en": "Crafts"},
        "keywords": ["handwerk", "tischler", "schreiner", "dachdeck", "maurer", "malerbetrieb", "elektroinstall",
                     "elektriker", "sanitaer", "heizung", "installateur", "baecker", "backhaus", "backstube",
                     "konditor", "fleischer", "metzger", "friseur", "goldschmied", "schmuck", "steinmetz", "glaser",
                     "polster", "raumausstatt", "zimmerei", "zimmerer", "schlosser", "=kfz", "werkstatt:0.6",
                     "optik", "optiker", "uhrmacher", "toepfer", "keramik", "drechsler", "geigenbau",
                     "manufaktur", "craft", "artisan", "workshop:0.3", "carpent", "joiner", "roofer",
                     "plumb", "baker", "jewel", "goldsmith", "stonemason", "upholster"],
    },
    "manufacturing": {
        "label": {"de": "Industrie & Produktion", "en": "Manufacturing & industry"},
        "keywords": ["industrie", "fertigung", "produktion", "maschinenbau", "metallbau", "zulieferer",
                     "automotive", "kunststoff", "=cnc", "drehen", "fraesen", "lohnfertig", "fabrik", "werk:0.3",
                     "anlagenbau", "schaltschrank", "robot", "sensor", "hydraulik", "industrial", "factory",
                     "factories", "manufactur", "production", "machin", "supplier", "components", "hersteller",
                     "mittelstand", "mittelstaend"],
    },
    "food": {
        "label": {"de": "Lebensmittel & Getränke", "en": "Food & drink"},
        "keywords": ["lebensmittel", "food", "baeckerei", "backhaus", "brauerei", "brennerei", "roesterei",
                     "kaffee", "coffee", "=wein", "weingut", "winery", "kaese", "cheese", "getraenk", "beverage",
                     "drink", "gastronomie", "destiller", "schokolad", "chocolate", "bier", "beer", "obst",
                     "konditor", "feinkost", "kulinar", "culinar"],
    },
    "construction": {
        "label": {"de": "Bau & Ausbau", "en": "Construction & building trades"},
        "keywords": ["bauunternehm", "hochbau", "tiefbau", "dachdeck", "zimmerei", "holzbau", "fenster", "fassade",
                     "glasbau", "trockenbau", "ausbau", "solaranlage", "photovoltaik", "waermepump", "construction",
                     "roofing", "building trade"],
    },
    "textile": {
        "label": {"de": "Textil & Mode", "en": "Textiles & fashion"},
        "keywords": ["textil", "weberei", "strickerei", "naeherei", "bekleidung", "faerberei", "leder",
                     "polsterei", "textile", "fashion", "apparel", "dyeing", "fabric"],
    },
    "technology": {
        "label": {"de": "Technik & Elektronik", "en": "Technology & electronics"},
        "keywords": ["elektronik", "electronic", "sensor", "robot", "medizintechn", "software", "hightech",
                     "high-tech", "tech companies", "technolog", "technik", "automatisierung", "devices",
                     "geraete", "erklaerungsbeduerft"],
    },
    "retail": {
        "label": {"de": "Handel & Läden", "en": "Retail & shops"},
        "keywords": ["einzelhandel", "haendler", "handel:0.6", "filiale", "filialist", "ladengeschaeft",
                     "geschaefte", "retail", "retailer", "=stores", "=shops"],
    },
    "family_heritage": {
        "label": {"de": "Familien- & Traditionsbetrieb", "en": "Family & heritage business"},
        "keywords": ["tradition", "familienunternehm", "familienbetrieb", "familiengefuehrt", "generation",
                     "heritage", "family business", "family-owned", "family owned", "jubilae", "seit 1",
                     "anniversary", "since 1"],
    },
}
