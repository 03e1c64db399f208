using ControlPlane.TestCommon;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// A client sending GETs through each of some nodes, one after another, until stopped; every answer
/// is kept with the moment its request was sent, so a test can look at what happened after an event.
/// </summary>
internal sealed class TrafficLoop : IAsyncDisposable
{
    private readonly ConcurrentQueue<Sent> _answers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;

    public TrafficLoop(string image, params DataplaneNode[] nodes)
    {
        _loops = [.. nodes.Select(node => Task.Run(() => RunAsync(node, image)))];
    }

    /// <summary>What every request got, in the order answers arrived.</summary>
    public IReadOnlyCollection<Sent> Answers => _answers;

    /// <summary>A point in time to compare <see cref="Sent.At"/> with.</summary>
    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>Until <paramref name="count"/> requests sent after <paramref name="since"/> were answered.</summary>
    public Task WaitForAnswersAsync(long since, int count) =>
        Eventually.WaitAsync($"{count} answers after the mark", () => _answers.Count(a => a.At >= since) >= count);

    /// <summary>Until each node answered <paramref name="count"/> requests sent after <paramref name="since"/> (the loops run at their own pace).</summary>
    public Task WaitForAnswersFromEachAsync(long since, int count, IReadOnlyCollection<string> nodeIds) =>
        Eventually.WaitAsync($"{count} answers after the mark from each of {string.Join(", ", nodeIds)}",
            () => nodeIds.All(id => _answers.Count(a => a.At >= since && a.NodeId == id) >= count));

    /// <summary>Stops sending, and fails if a request failed in the client itself (not an HTTP error status: those are answers).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        try
        {
            await Task.WhenAll(_loops);
        }
        finally
        {
            _stop.Dispose();
        }
    }

    private async Task RunAsync(DataplaneNode node, string image)
    {
        while (!_stop.IsCancellationRequested)
        {
            var at = Now();
            var answer = await node.GetAsync(image);
            _answers.Enqueue(new Sent(node.NodeId, at, answer));
        }
    }

    public sealed record Sent(string NodeId, long At, ProxyAnswer Answer);
}
