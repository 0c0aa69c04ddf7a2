import Foundation
import NIOCore

/// `POST /v1/rerank` and `POST /v2/rerank` in Cohere's v2 shape (the gateway's rerank contract).
///
/// Reference: Cohere API reference, Rerank v2 (https://docs.cohere.com/reference/rerank; fields as
/// summarised in /work/notes/issue19-providers.md §3, page itself not read): request `{model,
/// query, documents:[string], top_n?, max_tokens_per_doc?}`, answer `{id, results:[{index,
/// relevance_score}], meta:{api_version:{version}, billed_units:{search_units}}}`. Cohere's v1
/// `{text}` documents and `return_documents` are accepted too (the answer then carries
/// `document: {text}`).
///
/// Scoring a test can recompute: relevance = (distinct query words found in the document) /
/// (distinct query words), words being lower-cased runs of letters and digits, rounded to 4
/// places; ties keep document order.
enum Rerank {
    static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init))
    }

    static func respond(_ json: JSONBody, number: Int, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let query = json.string("query"), !query.isEmpty else { throw .badRequest("'query' is a required property") }
        guard let documents = json.decode("documents") as? [Any], !documents.isEmpty else {
            throw .badRequest("'documents' is a required non-empty array")
        }
        var texts: [String] = []
        for document in documents {
            if let text = document as? String {
                texts.append(text)
            } else if let object = document as? [String: Any], let text = object["text"] as? String {
                texts.append(text)
            } else {
                throw .badRequest("Invalid 'documents': each document must be a string or an object with 'text'.")
            }
        }
        var topN = texts.count
        if json.has("top_n") {
            guard let value = json.int("top_n"), value >= 1 else { throw .badRequest("Invalid 'top_n': expected a positive integer.") }
            topN = min(value, texts.count)
        }
        let queryWords = words(query)
        let scored = texts.enumerated().map { index, text -> (Int, Double) in
            let overlap = queryWords.intersection(words(text)).count
            let score = (Double(overlap) / Double(max(queryWords.count, 1)) * 10_000).rounded() / 10_000
            return (index, score)
        }
        let ranked = scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(topN)
        let returnDocuments = json.isTrue("return_documents")
        let results: [[String: Any]] = ranked.map { index, score in
            var result: [String: Any] = ["index": index, "relevance_score": score]
            if returnDocuments { result["document"] = ["text": texts[index]] }
            return result
        }
        let object: [String: Any] = [
            "id": "rerank-mock-\(number)",
            "results": results,
            "meta": ["api_version": ["version": "2"], "billed_units": ["search_units": 1]],
        ]
        return EndpointSupport.json(object, allocator: allocator)
    }
}
