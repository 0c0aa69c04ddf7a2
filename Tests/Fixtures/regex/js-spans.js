// Generates js-spans.json: what JavaScript (node) answers for generated patterns in the subset
// LinearRegex supports, for LinearRegexDifferentialTests. Run: node Tests/Fixtures/regex/js-spans.js
// Offsets are UTF-8 bytes. Texts stay in the Basic Multilingual Plane (with astral characters
// JavaScript without the `u` flag reads UTF-16 halves; the engine reads scalars).
let state = 12345;
function next(bound) {  // a small LCG: deterministic, so the file is reproducible
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % bound;
}
const atoms = ["a", "b", "c", ".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w", "\\s", "\\W", "(a|b)", "(?:ab|c)", "(a*)",
               "x", "A", "é", "(a|ab)", "(|a)", "[A-C]", "(?:a|b)+?", "\\n"];
const anchors = ["^", "$", "\\b", "\\B"];
const quantifiers = ["", "", "", "*", "+", "?", "{2}", "{1,2}", "{0,}", "*?", "+?", "??", "{1,3}?"];
const flagSets = ["", "", "i", "m", "s", "im", "is", "ms"];
const alphabet = ["a", "b", "c", "A", "B", " ", "x", "1", "\n", "é", "É", "\r"];
const utf8 = (s) => Buffer.byteLength(s, "utf8");
const cases = [];
while (cases.length < 1500) {
    let pattern = "";
    for (let i = 0, n = 1 + next(4); i < n; i++) {
        if (next(6) === 0) pattern += anchors[next(anchors.length)];
        else pattern += atoms[next(atoms.length)] + quantifiers[next(quantifiers.length)];
        if (next(8) === 0) pattern += "|";
    }
    const flags = flagSets[next(flagSets.length)];
    let text = "";
    for (let i = 0, n = next(10); i < n; i++) text += alphabet[next(alphabet.length)];
    let regex;
    try { regex = new RegExp(pattern, flags); } catch { continue; }
    const m = regex.exec(text);
    const span = m ? [utf8(text.slice(0, m.index)), utf8(text.slice(0, m.index + m[0].length))] : null;
    const replaced = text.replace(new RegExp(pattern, flags + "g"), "<$&>");
    cases.push({ pattern, flags, text, span, replaced });
}
require("fs").writeFileSync(__dirname + "/js-spans.json", JSON.stringify(cases, null, 0).replace(/\},\{/g, "},\n{") + "\n");
console.log(`${cases.length} cases`);
