public import NIOCore
import NIOHTTP1

/// A request served without a task: its answer to come on the connection's event loop, and how to
/// abandon it when the client leaves.
public struct GatewayExchange: Sendable {
    /// The answer, or a ``GatewayError``, completed on the loop the exchange was started on.
    public let answer: EventLoopFuture<GatewayResponse>
    /// Abandons the upstream exchange (its connection is closed, so the provider stops generating).
    public let cancel: @Sendable () -> Void
}

extension Gateway {
    /// Serves a request that every stage passes (``RequestStage/passes(_:context:)``) — no gateway
    /// or virtual key, middleware, scripted route, config, hook or cache applies — as the one call
    /// to its provider, chained on `loop` without a task: plan (`prepare`, synchronous), start the
    /// upstream exchange, and translate its answer when it arrives. The stages and the provider
    /// call are the ones ``handle(_:options:)`` runs; what this leaves out is the task and the
    /// async frames of the stage chain, which cost more than the work for such a request.
    ///
    /// Returns nil when the request needs the full path: a stage applies, `prepare` asks for images
    /// to fetch, or a client-chosen host name must be looked up first. Nothing the full path would
    /// do twice has happened by then (`prepare` is a pure function of the request).
    public func exchange(_ request: IncomingRequest, options: RequestOptions, on loop: any EventLoop) -> GatewayExchange? {
        let context = RequestContext(gateway: self, options: options, generation: scripts.current,
                                     dialect: ClientDialect(request.endpoint))
        guard Self.requestStages.stages.allSatisfy({ $0.passes(request, context: context) }),
              Self.attemptStages.stages.dropLast().allSatisfy({ $0.passes(request, context: context) }) else {
            return nil
        }
        let plan: ProviderPlan
        let url: UpstreamURL
        var outbound: UpstreamRequest
        do throws(GatewayError) {
            guard case .ready(let ready) = try planNow(request, context: context, fetched: nil) else { return nil }
            let (checked, needsLookup) = try upstreamURL(plan: ready, options: options)
            guard !needsLookup else { return nil }
            plan = ready
            url = checked
            outbound = try upstreamRequest(request, plan: plan, options: options, url: url)
        } catch {
            return GatewayExchange(answer: loop.makeFailedFuture(error)) {}
        }
        let sent = sending(plan, options: options, outbound: &outbound)
        let upstreamExchange = upstream.start(outbound, deadline: Self.deadline(options), maxBodyBytes: settings.maxResponseBodyBytes,
                                              on: loop)
        // The callbacks reach the options through `context` (a class): capturing the options
        // themselves would copy, and retain, each of their strings.
        let answer = upstreamExchange.answer.flatMapErrorThrowing { error in
            throw self.mapUpstreamError(error, provider: plan.providerID, url: url, options: context.options)
        }.flatMapThrowing { upstreamResponse in
            self.responded(plan, options: context.options, sent: sent, response: upstreamResponse)
            // What Gateway.attempt and Gateway.handle add to the provider call's answer.
            var response = try self.answer(upstreamResponse, to: request, plan: plan, context: context)
            response.headers.replaceOrAdd(name: "x-portkey-provider", value: plan.providerID)
            Self.decorate(&response.headers, options: context.options)
            return response
        }
        return GatewayExchange(answer: answer, cancel: upstreamExchange.cancel)
    }
}
