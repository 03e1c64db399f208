using ControlPlane.Grpc;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Health;
using ControlPlane.Dataplane.LoadBalancing;
using ControlPlane.Dataplane.Ops;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.LoadBalancing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// <c>ANY /g/{image}/{path...}</c>: finds the image in the current snapshot (read once: the
/// request finishes on it whatever is pushed meanwhile), picks an endpoint with the image's
/// balancer, forwards, reports the outcome to passive health, retries connect failures of
/// idempotent requests, and refused streams, elsewhere within the retry budget, and
/// answers the proxy's own errors (<see cref="ProxyErrorCodes"/>). Upstream trouble is never a 500. Every answered request
/// is counted once (<see cref="Answered"/>): in the metrics and in the load reports, per image, and
/// per instance when it was forwarded (or attempted) to one, for the instance whose outcome is answered.
/// </summary>
internal sealed class ProxyHandler(
    IProxyConfigProvider provider,
    HttpForwarder forwarder,
    IOptions<ForwarderOptions> forwarderOptions,
    IOptions<PassiveHealthOptions> healthOptions,
    DataplaneMetrics metrics,
    LoadRecorder recorder,
    TimeProvider time,
    ILogger<ProxyHandler> logger)
{
    /// <summary>Where requests that name no known image are counted, so hostile paths cannot grow the counters.</summary>
    private const string UnknownImage = "_unknown";

    private readonly ForwarderOptions _options = forwarderOptions.Value;
    private readonly PassiveHealthOptions _health = healthOptions.Value;

    /// <summary>Serves a request under <see cref="ProxyPath.Mount"/>. Not async itself: a forwarded request costs one state machine.</summary>
    public Task InvokeAsync(HttpContext http)
    {
        var started = time.GetTimestamp();
        var grpc = IsGrpc(http.Request);
        if (!ProxyPath.TryParse(http.Request, out var imageName, out var pathAndQuery))
        {
            return AnswerAsync(http, UnknownImage, null, started, 404, ProxyErrorCodes.NotFound, "the path names no image: use /g/{image}/{path}", grpc);
        }
        var config = provider.Current;
        if (!config.IsLoaded)
        {
            return AnswerAsync(http, UnknownImage, null, started, 503, ProxyErrorCodes.NotReady, "this node holds no configuration yet", grpc);
        }
        if (!config.TryGetImage(imageName, out var route))
        {
            return AnswerAsync(http, UnknownImage, null, started, 404, ProxyErrorCodes.NotFound, $"no image named '{imageName}'", grpc);
        }
        var sticky = route.StickyKey is null ? StickyValue.None : StickyValue.Find(route.StickyKey, new HttpStickySource(http.Request));
        var hasBody = http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        if (grpc && http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            // A gRPC client stream may rightly stay quiet for minutes; the instance's deadline governs it.
            rate.MinDataRate = null;
        }
        var request = new ForwardRequest(
            route.Image,
            pathAndQuery,
            ProxyPath.ForwardedPrefix(http.Request, route.Image, route.ForwardedPrefix),
            RequestId: http.Response.Headers[ProxyHeaders.RequestId].ToString(),
            grpc,
            hasBody ? new StreamingRequestContent(http.Request.BodyReader) : null);
        return ForwardWithRetriesAsync(http, route, request, sticky.Value, started);
    }

    private async Task ForwardWithRetriesAsync(HttpContext http, ImageRoute route, ForwardRequest request, string sticky, long started)
    {
        route.RetryBudget.RequestStarted();
        try
        {
            RetryExclusions? tried = null;
            ForwardResult result = default;
            string? instanceId = null;
            for (var attempt = 0; ; attempt++)
            {
                // A retry's pick never returns an endpoint in Tried; the check is for balancers added through DI.
                var picked = route.Balancer.Pick(new PickContext(sticky, route, route, tried is null ? default : tried.Tried));
                if (picked is null || tried?.Contains(picked.Index) == true)
                {
                    if (attempt > 0)
                    {
                        route.RetryBudget.RetryFinished();
                        break; // every usable endpoint was tried: answer with the last failure
                    }
                    await AnswerAsync(http, route.Image, null, started, 503, ProxyErrorCodes.NoRoutableEndpoint, $"image '{route.Image}' has no usable endpoint", request.Grpc);
                    return;
                }
                if (attempt > 0)
                {
                    metrics.Retry(route.Image);
                }
                var state = route.States[picked.Index];
                var destination = route.Destinations[picked.Index];
                instanceId = picked.InstanceId; // the instance whose outcome is answered counts the request
                state.RequestStarted();
                try
                {
                    result = await forwarder.ForwardAsync(http, request, destination);
                }
                finally
                {
                    state.RequestFinished();
                    if (attempt > 0)
                    {
                        route.RetryBudget.RetryFinished();
                    }
                }
                if (request.Grpc && result.Outcome == ForwardOutcome.Completed)
                {
                    // The call's own status, not HTTP 200, is what the instance answered.
                    result = result with { UpstreamStatus = GrpcOutcome.HealthStatus(http, result.UpstreamStatus) };
                }
                ReportHealth(route, picked, result);
                if (result.Outcome == ForwardOutcome.ConnectFailed)
                {
                    ForwarderLog.ConnectFailed(logger, route.Image, picked.InstanceId, destination.Origin, result.Error?.Message);
                }
                else if (result.Outcome == ForwardOutcome.Refused)
                {
                    ForwarderLog.Refused(logger, route.Image, picked.InstanceId, destination.Origin);
                }
                if (attempt >= _options.MaxRetries || http.RequestAborted.IsCancellationRequested || !MayRetry(result, request))
                {
                    break;
                }
                if (!route.RetryBudget.TryStartRetry(_options.RetryBudgetPercent, _options.MinRetryConcurrency))
                {
                    ForwarderLog.RetryBudgetExhausted(logger, route.Image);
                    break;
                }
                (tried ??= new RetryExclusions()).Add(picked.Index);
            }
            await FinishAsync(http, route, request, result, instanceId!, started);
        }
        finally
        {
            route.RetryBudget.RequestFinished();
        }
    }

    private Task FinishAsync(HttpContext http, ImageRoute route, ForwardRequest request, ForwardResult result, string instanceId, long started)
    {
        switch (result.Outcome)
        {
            case ForwardOutcome.Completed:
                Answered(route.Image, instanceId, started, request.Grpc ? GrpcOutcome.CountedStatus(http, http.Response.StatusCode) : http.Response.StatusCode, result.ResponseBytes);
                return Task.CompletedTask;
            case ForwardOutcome.ResponseBodyFailed:
                metrics.UpstreamError(route.Image, ProxyErrorCodes.BackendUnreachable);
                Answered(route.Image, instanceId, started, 502, result.ResponseBytes);
                return Task.CompletedTask;
            case ForwardOutcome.LostBetweenMessages:
                // Counted as what the client got: UNAVAILABLE, a 503.
                metrics.UpstreamError(route.Image, ProxyErrorCodes.BackendUnreachable);
                Answered(route.Image, instanceId, started, GrpcOutcome.HttpStatusOf((int)StatusCode.Unavailable), result.ResponseBytes);
                return Task.CompletedTask;
            case ForwardOutcome.ClientAborted:
                // Nobody to answer; 499 as nginx logs it.
                Answered(route.Image, instanceId, started, 499, result.ResponseBytes);
                return Task.CompletedTask;
            case ForwardOutcome.ConnectFailed:
                return AnswerAsync(http, route.Image, instanceId, started, 502, ProxyErrorCodes.BackendUnreachable, $"no instance of image '{route.Image}' could be reached", request.Grpc, upstreamError: true);
            case ForwardOutcome.Refused:
                // As a stream reset before the response: 502 (UNAVAILABLE to gRPC callers, as REFUSED_STREAM itself maps).
                return AnswerAsync(http, route.Image, instanceId, started, 502, ProxyErrorCodes.BackendUnreachable,
                    request.Body is { BytesConsumed: > 0 }
                        ? "the instance refused the request (HTTP/2 REFUSED_STREAM) once part of its body was sent, which cannot be sent again"
                        : "the instance refused the request (HTTP/2 REFUSED_STREAM)",
                    request.Grpc, upstreamError: true);
            case ForwardOutcome.Timeout when request.Grpc:
                // The call's deadline (grpc-timeout) passed before the instance answered.
                if (http.RequestAborted.IsCancellationRequested)
                {
                    // The client saw it first and left: counted, nobody to answer.
                    metrics.UpstreamError(route.Image, ProxyErrorCodes.BackendTimeout);
                    Answered(route.Image, instanceId, started, 504, result.ResponseBytes);
                    return Task.CompletedTask;
                }
                return AnswerAsync(http, route.Image, instanceId, started, 504, ProxyErrorCodes.BackendTimeout,
                    $"the call's deadline ({http.Request.Headers["grpc-timeout"]}) passed before the instance answered", request.Grpc, upstreamError: true, StatusCode.DeadlineExceeded);
            case ForwardOutcome.Timeout:
                ForwarderLog.Timeout(logger, route.Image, _options.EffectiveActivityTimeout.TotalMilliseconds);
                return AnswerAsync(http, route.Image, instanceId, started, 504, ProxyErrorCodes.BackendTimeout, $"the instance did not answer within {_options.EffectiveActivityTimeout.TotalSeconds:0.###} s", request.Grpc, upstreamError: true);
            case ForwardOutcome.RequestBodyFailed:
                ForwarderLog.RequestBodyFailed(logger, route.Image, result.Error?.Message);
                // Kestrel says why: 408 too slow, 413 too large, 400 malformed or cut short.
                var status = (result.Error as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest;
                var (code, detail) = status switch
                {
                    StatusCodes.Status408RequestTimeout => (ProxyErrorCodes.RequestTimeout, "the request body arrived too slowly"),
                    StatusCodes.Status413PayloadTooLarge => (ProxyErrorCodes.PayloadTooLarge, "the request body is larger than this node accepts"),
                    _ => (ProxyErrorCodes.BadRequest, "the request body could not be read"),
                };
                return AnswerAsync(http, route.Image, instanceId, started, status, code, detail, request.Grpc);
            case ForwardOutcome.RequestInvalid:
                // Nothing reached an instance: the image counts it, no instance does.
                ForwarderLog.RequestInvalid(logger, route.Image, result.Error?.Message);
                // 501 for a transfer coding the node does not undo (RFC 9112 §6.1), else 400.
                return AnswerAsync(http, route.Image, null, started, result.Error is NotImplementedException ? 501 : 400, ProxyErrorCodes.BadRequest, "the request cannot be forwarded as sent", request.Grpc);
            default:
                ForwarderLog.UpstreamFailed(logger, route.Image, result.Error?.Message);
                var why = result.Error is Http1.Http1ProtocolException { Closed: false } or InvalidOperationException
                    ? "the instance's response is not valid HTTP" // a malformed head, or fields Kestrel refuses to relay
                    : "the instance closed the connection without a response";
                return AnswerAsync(http, route.Image, instanceId, started, 502, ProxyErrorCodes.BackendUnreachable, why, request.Grpc, upstreamError: true);
        }
    }

    /// <summary>
    /// Whether a failed attempt may be made again elsewhere, sending the body whole again: only when
    /// nothing of it was taken from the client. A connect failure sent nothing, and a refused stream was
    /// not processed (RFC 9113 §8.7): the instance never saw the request, so any method (a POST, a gRPC
    /// call), as nginx and Envoy's connect-failure retry it.
    /// </summary>
    private static bool MayRetry(in ForwardResult result, ForwardRequest request) => result.Outcome switch
    {
        ForwardOutcome.ConnectFailed or ForwardOutcome.Refused => request.Body is null || request.Body.TryReset(),
        _ => false,
    };

    private void ReportHealth(ImageRoute route, BalancerEndpoint picked, ForwardResult result)
    {
        var state = route.States[picked.Index];
        if (result.IsUpstreamFailure)
        {
            if (route.Health.ReportFailure(state, route.States, _health) is { } ejectedFor)
            {
                ForwarderLog.Ejected(logger, route.Image, picked.InstanceId, ejectedFor.TotalSeconds, _health.ConsecutiveFailures);
                metrics.Ejection(route.Image);
            }
        }
        else if (result.Outcome == ForwardOutcome.Completed)
        {
            route.Health.ReportSuccess(state, _health);
        }
    }

    /// <summary>The node's own answer; <paramref name="instanceId"/> when the request was forwarded (or attempted) to one.</summary>
    private async Task AnswerAsync(HttpContext http, string image, string? instanceId, long started, int status, string code, string detail, bool grpc, bool upstreamError = false, StatusCode? grpcCode = null)
    {
        if (upstreamError)
        {
            metrics.UpstreamError(image, code);
        }
        var bytes = await ProxyErrorWriter.WriteAsync(http, status, code, detail, grpc, grpcCode);
        Answered(image, instanceId, started, status, bytes);
    }

    /// <summary>The one place an answered request is counted: metrics and load reports alike, once.</summary>
    private void Answered(string image, string? instanceId, long started, int status, long bytesSent)
    {
        metrics.Request(image, status);
        recorder.Record(image, instanceId, status, bytesSent, time.GetElapsedTime(started));
    }

    /// <summary>PROTOCOL-HTTP2.md: gRPC requests are HTTP/2 with content-type application/grpc[+proto|+json...].</summary>
    private static bool IsGrpc(HttpRequest request) => IsGrpcContentType(request.ContentType);

    /// <summary>application/grpc, application/grpc+proto, +json ... (not grpc-web, whose framing differs).</summary>
    internal static bool IsGrpcContentType(string? type) =>
        type is not null && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (type.Length == 16 || type[16] is '+' or ';');

    /// <summary>RFC 9110 §9.2.2 idempotent methods.</summary>
    internal static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);
}
