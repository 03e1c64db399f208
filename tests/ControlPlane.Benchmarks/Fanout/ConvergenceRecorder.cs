using System.Diagnostics;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// When each of N watchers received one change: armed just before the change is sent, told by each
/// watcher's reader as soon as it has the change, and awaited until all have it. Shared by the
/// targets, so that both sides of the benchmark time the same way (a watcher's time includes this
/// process's work to read and parse its message, for every target alike).
/// </summary>
internal sealed class ConvergenceRecorder
{
    private readonly long[] _receivedAt;
    private TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _start;
    private int _remaining;
    private volatile bool _armed;
    private Exception? _failure;

    public ConvergenceRecorder(int watchers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(watchers, 1);
        _receivedAt = new long[watchers];
    }

    public int Watchers => _receivedAt.Length;

    /// <summary>True between <see cref="Arm"/> and the end of <see cref="WaitAsync"/>: a change is expected.</summary>
    public bool Armed => _armed;

    /// <summary>Readies for one change and starts its clock: call it immediately before sending the change.</summary>
    public long Arm()
    {
        if (_armed)
        {
            throw new InvalidOperationException("A change is already being measured.");
        }
        if (_failure is { } failure)
        {
            throw new InvalidOperationException("A watcher failed before the change: " + failure.Message, failure);
        }
        Array.Clear(_receivedAt);
        _all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, _receivedAt.Length);
        _armed = true;
        _start = Stopwatch.GetTimestamp();
        return _start;
    }

    /// <summary>
    /// <paramref name="watcher"/> has the change now. Fails the measurement if no change is armed or
    /// the watcher already reported this one (a duplicate push).
    /// </summary>
    public void Received(int watcher)
    {
        var now = Stopwatch.GetTimestamp();
        if (!_armed)
        {
            Fail(new InvalidOperationException($"Watcher {watcher} received a change when none was sent."));
            return;
        }
        if (Interlocked.CompareExchange(ref _receivedAt[watcher], now, 0) != 0)
        {
            Fail(new InvalidOperationException($"Watcher {watcher} received the same change twice."));
            return;
        }
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _all.TrySetResult();
        }
    }

    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    /// <summary>
    /// The change the control-plane targets time: arms, registers <paramref name="registration"/> (a new
    /// instance) through <paramref name="writer"/>, and returns how long the call took to answer. A call
    /// that fails, or updates an instance instead of adding one, fails the recorder: no later change can
    /// be measured on these watchers.
    /// </summary>
    public async Task<TimeSpan> RegisterAsync(GrpcChannel writer, RegisterRequest registration, CancellationToken cancellationToken)
    {
        var start = Arm();
        try
        {
            var response = await writer.AsyncUnaryCall(Register, registration, new CallOptions(cancellationToken: cancellationToken));
            var answered = Stopwatch.GetElapsedTime(start);
            return response.Created
                ? answered
                : throw new InvalidOperationException($"Registering {registration.InstanceId} updated an existing instance instead of adding one.");
        }
        catch (Exception ex)
        {
            Fail(ex);
            throw;
        }
    }

    /// <summary>Ends the current measurement, and refuses the next ones, with <paramref name="error"/> (the first one is kept).</summary>
    public void Fail(Exception error)
    {
        Interlocked.CompareExchange(ref _failure, error, null);
        _all.TrySetException(error);
    }

    /// <summary>Waits until every watcher has the change; per watcher, its time since <see cref="Arm"/>.</summary>
    public async Task<TimeSpan[]> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _all.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            var missing = _receivedAt.Count(t => t == 0);
            throw new TimeoutException($"{missing:N0} of {Watchers:N0} watchers did not receive the change within {timeout.TotalSeconds:0} s.");
        }
        finally
        {
            _armed = false;
        }
        return _receivedAt.Select(t => Stopwatch.GetElapsedTime(_start, t)).ToArray();
    }
}
