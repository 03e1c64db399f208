using System.Collections.Concurrent;

namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// Keeps short-lease instances alive, as their agent would: a heartbeat for each every
/// <see cref="Interval"/> (a small fraction of the lease, so a busy machine's hiccup does not
/// expire them). <see cref="Stop"/> one and it expires at the end of its lease.
/// </summary>
internal sealed class Heartbeater : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly ControlPlaneProcess _controlPlane;
    private readonly ConcurrentDictionary<string, bool> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public Heartbeater(ControlPlaneProcess controlPlane)
    {
        _controlPlane = controlPlane;
        _loop = RunAsync();
    }

    /// <summary>Heartbeats that failed (the instance was unknown, the control plane did not answer).</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    public void Start(params string[] instanceIds)
    {
        foreach (var id in instanceIds)
        {
            _instances[id] = true;
        }
    }

    public void Stop(string instanceId) => _instances.TryRemove(instanceId, out _);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await Task.WhenAll(_instances.Keys.Select(BeatAsync));
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private async Task BeatAsync(string instanceId)
    {
        try
        {
            await _controlPlane.HeartbeatAsync(instanceId);
        }
#pragma warning disable CA1031 // recorded for the test to assert on, never thrown from the background loop
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (_instances.ContainsKey(instanceId))
            {
                _failures.Enqueue($"{instanceId}: {ex.Message}");
            }
        }
    }
}
