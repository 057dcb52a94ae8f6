# ruff: noqa: RUF001  (names and examples in six scripts)
"""Country detection in a release's text, in the newsroom's six languages."""

from __future__ import annotations

import pytest

from pressdispatch.errors import UnknownLanguage
from pressdispatch.intake.countries import Country, find_countries

# (language, sentence, the countries it names in order of first mention)
TABLE: list[tuple[str, str, list[str]]] = [
    # -- English
    (
        "en",
        "Guinea-Bissau and Equatorial Guinea signed; Papua New Guinea observed.",
        ["GW", "GQ", "PG"],
    ),
    ("en", "Conakry, Guinea – The Government of Guinea welcomed the mission.", ["GN"]),
    ("en", "Floods hit Niger while Nigeria sent aid.", ["NE", "NG"]),
    (
        "en",
        "The Democratic Republic of the Congo and the Republic of the Congo share a river.",
        ["CD", "CG"],
    ),
    ("en", "Convoys crossed from the DRC into Congo, then to DR Congo again.", ["CD", "CG"]),
    ("en", "South Sudan and Sudan agreed on the border.", ["SS", "SD"]),
    ("en", "Tbilisi, Georgia – The Government of Georgia launched a census.", ["GE"]),
    ("en", "The meeting opened in Atlanta, Georgia, in the United States.", ["US"]),
    ("en", "Michael Jordan and Jordan Peterson both spoke about refugees in Jordan.", ["JO"]),
    ("en", "Chad Smith, the drummer, raised money for schools in Chad.", ["TD"]),
    ("en", "The mayor of Minsk opened the exhibition.", []),
    ("en", "Dominica and the Dominican Republic held talks.", ["DM", "DO"]),
    ("en", "Talks between the U.S. and the UK were held in Côte d'Ivoire.", ["US", "GB", "CI"]),
    ("en", "Heavy rain fell on New Mexico and New South Wales.", []),
    ("en", "She served turkey on fine china.", []),
    ("en", "Ivory Coast, Burma and the Czech Republic joined Turkey.", ["CI", "MM", "CZ", "TR"]),
    ("en", "The Guinea worm campaign reached Mali and Northern Ireland.", ["ML", "GB"]),
    ("en", "Let us know: the USA and Jordan's king met.", ["US", "JO"]),
    ("en", "Visit Jordan this spring, said the minister.", ["JO"]),
    ("en", "The Niger Delta lies in Nigeria.", ["NG"]),
    # -- French
    ("fr", "Le président d'Haïti a salué l'aide de l'Ukraine et d'Irak.", ["HT", "UA", "IQ"]),
    ("fr", "La RDC et le Congo ont signé un accord.", ["CD", "CG"]),
    ("fr", "La République démocratique du Congo accueille la République du Congo.", ["CD", "CG"]),
    (
        "fr",
        "La Guinée-Bissau, la Guinée équatoriale et la Papouasie-Nouvelle-Guinée ont voté,"
        " pas la Guinée.",
        ["GW", "GQ", "PG", "GN"],
    ),
    ("fr", "Le Niger et le Nigéria coopèrent.", ["NE", "NG"]),
    ("fr", "Le Soudan du Sud et le Soudan ont rouvert la frontière.", ["SS", "SD"]),
    ("fr", "Les Émirats et les États-Unis financent le projet.", ["AE", "US"]),
    ("fr", "Minsk accueille le festival.", []),
    ("fr", "Maurice Dupont s'est rendu au Tchad puis à Maurice.", ["TD", "MU"]),
    ("fr", "ABIDJAN, Côte d’Ivoire – Le gouvernement a annoncé un plan.", ["CI"]),
    ("fr", "La Biélorussie et la Géorgie ont signé.", ["BY", "GE"]),
    ("fr", "Des pluies au Nouveau-Mexique et en Nouvelle-Guinée.", []),
    ("fr", "L'Irlande du Nord et l'Irlande ont joué.", ["GB", "IE"]),
    ("fr", "La Cisjordanie et la Jordanie, puis la Tchéquie.", ["PS", "JO", "CZ"]),
    # -- Spanish
    ("es", "EE. UU. y la RDC firmaron el acuerdo.", ["US", "CD"]),
    ("es", "La República Democrática del Congo y el Congo comparten un río.", ["CD", "CG"]),
    (
        "es",
        "Guinea-Bisáu, Guinea Ecuatorial, Papúa Nueva Guinea y Guinea votaron.",
        ["GW", "GQ", "PG", "GN"],
    ),
    ("es", "Níger y Nigeria firmaron.", ["NE", "NG"]),
    ("es", "Sudán del Sur y Sudán reabrieron la frontera.", ["SS", "SD"]),
    ("es", "Minsk acoge el foro.", []),
    ("es", "Haití y la República Dominicana cooperan.", ["HT", "DO"]),
    ("es", "El chile y la cuba de vino.", []),
    ("es", "Georgia y Turquía firmaron.", ["GE", "TR"]),
    ("es", "Los EEUU y México, luego los EE.UU. otra vez.", ["US", "MX"]),
    ("es", "Costa de Marfil y Bielorrusia.", ["CI", "BY"]),
    ("es", "Llueve en Nuevo México y en Nueva Guinea.", []),
    ("es", "Chad Smith visitó el Chad.", ["TD"]),
    # -- Russian
    ("ru", "Встреча прошла в Беларуси.", ["BY"]),
    ("ru", "Гуманитарная помощь Украине поступила из России.", ["UA", "RU"]),
    ("ru", "Соглашение с Казахстаном подписано в Грузии.", ["KZ", "GE"]),
    ("ru", "ДРК и Республика Конго обсудили границу.", ["CD", "CG"]),
    ("ru", "Делегации Гвинеи-Бисау, Экваториальной Гвинеи и Гвинеи прибыли.", ["GW", "GQ", "GN"]),
    ("ru", "В Нигере и Нигерии прошли выборы.", ["NE", "NG"]),
    ("ru", "Между Южным Суданом и Суданом открыта граница.", ["SS", "SD"]),
    ("ru", "Минск принимает форум.", []),
    ("ru", "США и Великобритания поддержали резолюцию.", ["US", "GB"]),
    ("ru", "Выставка пройдет в Соединенных Штатах Америки и в Китае.", ["US", "CN"]),
    ("ru", "Кроме того, приехали представители Белоруссии.", ["BY"]),
    ("ru", "ОАЭ направили помощь в Сирию.", ["AE", "SY"]),
    ("ru", "Из Кот-д'Ивуара самолет вылетел в Грузию.", ["CI", "GE"]),
    ("ru", "Украина и Казахстан, Украины и Казахстана.", ["UA", "KZ"]),
    ("ru", "Того же мнения придерживается Чад.", ["TD"]),
    ("ru", "Кроме того, в Того открыта школа.", ["TG"]),
    # -- Arabic
    ("ar", "عقد الاجتماع في سوريا.", ["SY"]),
    ("ar", "وصلت المساعدات بالعراق والأردن.", ["IQ", "JO"]),
    ("ar", "دعم للعراق ولبنان.", ["IQ", "LB"]),
    ("ar", "جمهورية الكونغو الديمقراطية والكونغو.", ["CD", "CG"]),
    ("ar", "غينيا بيساو وغينيا الاستوائية وغينيا.", ["GW", "GQ", "GN"]),
    ("ar", "النيجر ونيجيريا.", ["NE", "NG"]),
    ("ar", "جنوب السودان والسودان.", ["SS", "SD"]),
    ("ar", "افتتح المعرض في مينسك.", []),
    ("ar", "قدمت الولايات المتحدة دعما ماليا لمصر.", ["US", "EG"]),
    ("ar", "دعم مالي لبيلاروس.", ["BY"]),
    ("ar", "فالمغرب وتونس.", ["MA", "TN"]),
    ("ar", "زار الوفد جورجيا وروسيا البيضاء.", ["GE", "BY"]),
    ("ar", "في عمان، عاصمة الأردن، ثم في سلطنة عمان.", ["JO", "OM"]),
    # -- Chinese
    ("zh", "美国和英国的代表出席了会议。", ["US", "GB"]),
    ("zh", "刚果（金）和刚果（布）签署了协议。", ["CD", "CG"]),
    ("zh", "刚果民主共和国与刚果共和国，以及刚果。", ["CD", "CG"]),
    ("zh", "几内亚比绍、赤道几内亚、巴布亚新几内亚和几内亚。", ["GW", "GQ", "PG", "GN"]),
    ("zh", "尼日尔和尼日利亚。", ["NE", "NG"]),
    ("zh", "南苏丹与苏丹。", ["SS", "SD"]),
    ("zh", "乍得和格鲁吉亚。", ["TD", "GE"]),
    ("zh", "明斯克举办论坛。", []),
    ("zh", "沿海地区的渔民向海地捐款。", ["HT"]),
    ("zh", "印度洋沿岸的印度尼西亚和印度。", ["ID", "IN"]),
    ("zh", "白俄罗斯和俄罗斯。", ["BY", "RU"]),
    ("zh", "约旦河西岸和约旦。", ["PS", "JO"]),
    ("zh", "宪法国家与精英国际论坛在法国举行。", ["FR"]),
    ("zh", "中国台湾和中国香港的代表访问了中国。", ["TW", "HK", "CN"]),
]


@pytest.mark.parametrize(
    ("language", "sentence", "expected"), TABLE, ids=[f"{r[0]}-{i}" for i, r in enumerate(TABLE)]
)
def test_the_countries_a_sentence_names(language: str, sentence: str, expected: list[str]) -> None:
    assert [country.code for country in find_countries(sentence, language)] == expected


def test_the_table_covers_every_language() -> None:
    assert len(TABLE) >= 60
    for language in ("en", "fr", "es", "ru", "ar", "zh"):
        assert sum(1 for row in TABLE if row[0] == language) >= 8


def test_evidence_is_the_words_as_written_first_few_once_each() -> None:
    text = "Le président d'Haïti est rentré en Haïti. HAÏTI : d'Haïti, Haïti, et haïti encore."
    assert find_countries(text, "fr") == [Country("HT", ("d'Haïti", "Haïti", "HAÏTI"))]


def test_evidence_keeps_case_endings_and_attached_letters() -> None:
    assert find_countries("Форум в Беларуси. Беларусь ждет.", "ru") == [
        Country("BY", ("Беларуси", "Беларусь"))
    ]
    assert find_countries("وصل الوفد بالعراق", "ar") == [Country("IQ", ("بالعراق",))]
    assert find_countries("Talks in the U.S. ended.", "en") == [Country("US", ("U.S.",))]


def test_order_is_first_mention_across_title_dateline_and_body() -> None:
    text = "Chile and Peru\n\nLIMA, Peru – Argentina joined Chile."
    assert [c.code for c in find_countries(text, "en")] == ["CL", "PE", "AR"]


def test_language_codes_are_read_as_the_newsroom_reads_them() -> None:
    assert [c.code for c in find_countries("Tchad", " FR ")] == ["TD"]
    with pytest.raises(UnknownLanguage):
        find_countries("Chad", "xx")
