using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Server.Metrics;

/// <summary>
/// Records per-call server metrics on the "ControlPlane.Grpc.Server" meter: <c>rpc.server.duration</c>
/// (histogram, seconds), <c>rpc.server.calls</c> (counter) and <c>rpc.server.active_calls</c>
/// (up-down counter), tagged <c>rpc_service</c>, <c>rpc_method</c> and, once the call is over,
/// <c>rpc_grpc_status_code</c> ("OK", "NOT_FOUND"...). Register it first, so it times the whole
/// pipeline: <c>options.AddInterceptor&lt;RpcMetricsInterceptor&gt;()</c>. It reads only what every
/// <see cref="ServerCallContext"/> has, so it serves JSON-transcoded calls the same way.
/// </summary>
public sealed class RpcMetricsInterceptor : IServerInterceptor
{
    public const string MeterName = "ControlPlane.Grpc.Server";

    // Unary control-plane RPCs take well under a millisecond on loopback; watches and long polls run for seconds.
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _calls;
    private readonly UpDownCounter<long> _active;
    private readonly TimeProvider _time;

    public RpcMetricsInterceptor(IMeterFactory meterFactory, IOptions<GrpcServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(options);
        _time = options.Value.TimeProvider;
        // The factory returns one meter per name and the meter one instrument per name, so every
        // interceptor instance (one per mapped service) records into the same instruments.
        var meter = meterFactory.Create(new MeterOptions(MeterName));
        _duration = meter.CreateHistogram(
            "rpc.server.duration", "s", "Duration of RPCs handled by the server, from the request to the handler's end.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _calls = meter.CreateCounter<long>("rpc.server.calls", "{call}", "RPCs handled by the server, by final status.");
        _active = meter.CreateUpDownCounter<long>("rpc.server.active_calls", "{call}", "RPCs the server is handling now.");
    }

    public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var method = context.Method;
        var service = new KeyValuePair<string, object?>("rpc_service", method.Service.FullName);
        var name = new KeyValuePair<string, object?>("rpc_method", method.Name);
        var start = _time.GetTimestamp();
        _active.Add(1, service, name);
        Exception? failure = null;
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            var elapsed = _time.GetElapsedTime(start);
            var status = new KeyValuePair<string, object?>("rpc_grpc_status_code", RpcOutcome.Name(RpcOutcome.Of(context, failure, _time)));
            _active.Add(-1, service, name);
            _duration.Record(elapsed.TotalSeconds, service, name, status);
            _calls.Add(1, service, name, status);
        }
    }
}
