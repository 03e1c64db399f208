using System.Collections.Concurrent;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Sdk.Tests.Infrastructure;

/// <summary>
/// Every call a test server received, in order, with its request metadata; and faults to inject:
/// the next N calls of a method answered with a status before the handler runs.
/// </summary>
internal sealed class CallRecorder
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private readonly ConcurrentDictionary<string, int> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new();

    public IReadOnlyList<RecordedCall> All => [.. _calls];

    /// <summary>Calls of <paramref name="method"/> ("Register", matched on the method name).</summary>
    public IReadOnlyList<RecordedCall> Of(string method) => [.. _calls.Where(c => c.Method == method)];

    /// <summary>Answers the next <paramref name="count"/> calls of <paramref name="method"/> with UNAVAILABLE.</summary>
    public void FailNext(string method, int count) => _faults[method] = count;

    /// <summary>Completes once <paramref name="count"/> calls of <paramref name="method"/> have arrived.</summary>
    public Task WaitForAsync(string method, int count)
    {
        var waiter = _waiters.GetOrAdd($"{method}#{count}", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (Of(method).Count >= count)
        {
            waiter.TrySetResult();
        }
        return waiter.Task;
    }

    private void Record(RecordedCall call)
    {
        _calls.Enqueue(call);
        var count = Of(call.Method).Count;
        foreach (var (key, waiter) in _waiters)
        {
            var parts = key.Split('#');
            if (parts[0] == call.Method && count >= int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture))
            {
                waiter.TrySetResult();
            }
        }
    }

    private bool ShouldFail(string method)
    {
        while (_faults.TryGetValue(method, out var left) && left > 0)
        {
            if (_faults.TryUpdate(method, left - 1, left))
            {
                return true;
            }
        }
        return false;
    }

    /// <param name="Failed">Whether the call was answered with an injected fault.</param>
    public sealed record RecordedCall(string Method, IReadOnlyDictionary<string, string> Headers, bool Failed)
    {
        /// <summary>How the handler ended ("returned", or the status or exception it threw); null while it runs. Shown when an assertion on the calls fails.</summary>
        public string? Outcome { get; set; }
    }

    public sealed class Interceptor(CallRecorder recorder) : IServerInterceptor
    {
        public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
        {
            var method = context.Method.Name;
            var headers = context.RequestHeaders.Where(e => !e.IsBinary).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            var fail = recorder.ShouldFail(method);
            var call = new RecordedCall(method, headers, fail);
            recorder.Record(call);
            try
            {
                if (fail)
                {
                    throw new RpcException(StatusCode.Unavailable, "injected: replica going away");
                }
                await next(context);
                call.Outcome = "returned";
            }
            catch (Exception ex)
            {
                call.Outcome = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.GetType().Name;
                throw;
            }
        }
    }
}
