import BenchSupport
/// A realistic ~10 KB OpenAI chat/completions request, identical on every run.
///
/// Real gateway traffic is mostly prose in `messages` plus a tools array of nested JSON Schema, so
/// the document mixes both: a system prompt, twelve turns (one with a tool call and its result),
/// three function tools, and the usual sampling parameters. Text includes quotes, backslashes,
/// newlines, tabs and non-ASCII (accents, CJK, emoji) so the codec's escape and UTF-8 paths run.
enum ChatRequestFixture {
    static let model = "gpt-4o-mini"

    /// The request as compact JSON bytes.
    static let bytes: [UInt8] = Array(document.text.utf8)

    static var document: JSONValue {
        var prose = ProseGenerator(seed: 0x5EED)
        let messages: [JSONValue] = [
            ["role": "system", "content": .string(systemPrompt + prose.paragraph(words: 120))],
            ["role": "user", "content": .string("Hi! Can you help me plan a three-day trip to Zürich in early May? "
                + prose.paragraph(words: 90))],
            ["role": "assistant", "content": .string("Of course — here is a first sketch:\n\n1. Day one: the Altstadt "
                + "and the lake.\n2. Day two: Uetliberg.\n3. Day three: museums.\n\n" + prose.paragraph(words: 150))],
            ["role": "user", "content": .string("What will the weather be like? My budget is about 1 200 € "
                + "and I \"hate\" rain. " + prose.paragraph(words: 30))],
            [
                "role": "assistant", "content": nil,
                "tool_calls": [[
                    "id": "call_7f3a9c2e1b", "type": "function",
                    "function": [
                        "name": "get_weather",
                        "arguments": #"{"location":"Zürich, CH","unit":"celsius","days":3}"#,
                    ],
                ]],
            ],
            [
                "role": "tool", "tool_call_id": "call_7f3a9c2e1b",
                "content": .string(#"{"forecast":[{"day":"2025-05-02","high":18,"low":9,"rain_mm":0.4},"#
                    + #"{"day":"2025-05-03","high":21,"low":11,"rain_mm":0.0},"#
                    + #"{"day":"2025-05-04","high":16,"low":8,"rain_mm":6.2}],"source":"météo"}"#),
            ],
            ["role": "assistant", "content": .string("Mostly dry: 18 °C, 21 °C, then 16 °C with some rain on the "
                + "third day, so keep the museums for Sunday. " + prose.paragraph(words: 120))],
            ["role": "user", "content": .string("Great. Also, my friend from 東京 is joining 🎉 — any sushi places? "
                + prose.paragraph(words: 40))],
            ["role": "assistant", "content": .string(prose.paragraph(words: 180))],
            ["role": "user", "content": .string("Can you write a tiny script that converts CHF to EUR? Use "
                + "C:\\Users\\me\\rates.csv as the input path.")],
            ["role": "assistant", "content": .string(codeAnswer + prose.paragraph(words: 50))],
            ["role": "user", "content": .string("Thanks! Last thing: summarise the plan as a table. "
                + prose.paragraph(words: 25))],
            ["role": "assistant", "content": .string("| Day | Plan |\n|---|---|\n| Fri | Altstadt, lake |\n"
                + "| Sat | Uetliberg |\n| Sun | Kunsthaus, Landesmuseum |\n\n" + prose.paragraph(words: 90))],
        ]
        return [
            "model": .string(model),
            "messages": .array(messages),
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": true,
            "temperature": 0.7,
            "top_p": 0.95,
            "max_tokens": 1024,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,  // neutral: the Anthropic translation refuses a real penalty (map or refuse)
            "n": 1,
            "stop": ["\n\nUser:", "<|end|>"],
            "stream": true,
            "stream_options": ["include_usage": true],
            "user": "user-2f9c4e",
            "metadata": ["session": "trip-planner", "locale": "de-CH", "experiment": nil],
        ]
    }

    private static let systemPrompt = """
        You are Atlas, a careful travel assistant. Answer in the user's language, keep answers \
        concise, and use the tools when facts may have changed (weather, prices, opening hours).
        Rules:
        \t- Never invent bookings or prices.
        \t- Quote currencies as "CHF" or "EUR", never symbols alone.
        \t- Prefer public transport; mention the SBB app when relevant.

        """

    private static let codeAnswer = """
        Here you go:

        ```python
        import csv

        def chf_to_eur(amount: float, path: str = r"C:\\Users\\me\\rates.csv") -> float:
            with open(path, newline="") as f:
                rate = float(next(csv.DictReader(f))["CHF_EUR"])
            return round(amount * rate, 2)

        print(f"{chf_to_eur(1200):.2f} €")
        ```


        """

    private static var tools: JSONValue {
        [
            [
                "type": "function",
                "function": [
                    "name": "get_weather",
                    "description": "Daily forecast for a place: high and low temperature and rain in mm.",
                    "parameters": [
                        "type": "object",
                        "properties": [
                            "location": ["type": "string", "description": "City and country, e.g. \"Zürich, CH\""],
                            "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]],
                            "days": ["type": "integer", "minimum": 1, "maximum": 14],
                        ],
                        "required": ["location"],
                        "additionalProperties": false,
                    ],
                ],
            ],
            [
                "type": "function",
                "function": [
                    "name": "search_restaurants",
                    "description": "Finds restaurants near a location, optionally filtered by cuisine and price.",
                    "parameters": [
                        "type": "object",
                        "properties": [
                            "near": [
                                "type": "object",
                                "properties": [
                                    "lat": ["type": "number"], "lon": ["type": "number"],
                                    "radius_m": ["type": "integer", "default": 1500],
                                ],
                                "required": ["lat", "lon"],
                            ],
                            "cuisine": ["type": "array", "items": ["type": "string"], "maxItems": 5],
                            "price": ["type": "string", "enum": ["€", "€€", "€€€"]],
                            "open_now": ["type": "boolean"],
                        ],
                        "required": ["near"],
                    ],
                ],
            ],
            [
                "type": "function",
                "function": [
                    "name": "book_train",
                    "description": "Reserves seats on an SBB train. Returns a booking reference.",
                    "parameters": [
                        "type": "object",
                        "properties": [
                            "from": ["type": "string"], "to": ["type": "string"],
                            "departure": ["type": "string", "format": "date-time"],
                            "passengers": [
                                "type": "array",
                                "items": [
                                    "type": "object",
                                    "properties": [
                                        "name": ["type": "string"],
                                        "age": ["type": "integer", "minimum": 0],
                                        "half_fare_card": ["type": "boolean"],
                                    ],
                                    "required": ["name"],
                                ],
                            ],
                            "class": ["type": "integer", "enum": [1, 2]],
                        ],
                        "required": ["from", "to", "departure", "passengers"],
                    ],
                ],
            ],
        ]
    }
}

/// Varied but reproducible filler prose: words drawn from a fixed list by a linear congruential
/// generator, so the document has realistic word lengths and punctuation without a large literal.
struct ProseGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    private static let words = [
        "the", "a", "and", "to", "of", "in", "is", "you", "for", "on", "with", "train", "lake", "station",
        "museum", "walk", "morning", "evening", "ticket", "weather", "restaurant", "old", "town", "view",
        "bridge", "river", "Limmat", "Grossmünster", "Fraumünster", "Zürichsee", "café", "naïve", "Rösti",
        "fondue", "chocolate", "mountain", "Uetliberg", "minutes", "about", "from", "near", "should", "could",
        "probably", "recommend", "booking", "price", "CHF", "crème", "Bahnhofstrasse", "afternoon", "quiet",
        "busy", "weekend", "day", "pass", "tram", "boat", "Kunsthaus", "Landesmuseum", "日本語", "寿司",
        "über", "schön", "façade", "éclair",
    ]

    private mutating func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }

    /// `words` words in sentences of 6 to 17 words.
    mutating func paragraph(words count: Int) -> String {
        var text = ""
        var sentenceLeft = 0
        for index in 0..<count {
            if sentenceLeft == 0 {
                if index > 0 { text += ". " }
                sentenceLeft = 6 + next(12)
                let word = Self.words[next(Self.words.count)]
                text += word.prefix(1).uppercased() + word.dropFirst()
            } else {
                text += (next(9) == 0 ? ", " : " ") + Self.words[next(Self.words.count)]
            }
            sentenceLeft -= 1
        }
        return text + "."
    }
}
