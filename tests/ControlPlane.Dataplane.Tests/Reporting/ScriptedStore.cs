using ControlPlane.Server.Stats;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// A replica's view of a (possibly shared) store that records every report it was asked to apply,
/// and can lose the acknowledgement of chosen reports: the report is applied (counted), then the
/// call fails before the node hears the answer, as when a replica dies at that instant.
/// </summary>
internal sealed class ScriptedStore(ILoadStore inner) : ILoadStore
{
    private readonly List<(ReportKey Key, ulong Sequence, ReportResult Result)> _applied = [];

    /// <summary>Sequences whose answer is lost after applying them.</summary>
    public Func<ulong, bool> LoseAnswer { get; set; } = _ => false;

    public IReadOnlyList<(ReportKey Key, ulong Sequence, ReportResult Result)> Applied
    {
        get
        {
            lock (_applied)
            {
                return [.. _applied];
            }
        }
    }

    public async ValueTask<ReportResult> ApplyAsync(ReportKey key, ulong sequence, LoadBatch batch, DateTimeOffset receivedAt, CancellationToken cancellationToken = default)
    {
        var result = await inner.ApplyAsync(key, sequence, batch, receivedAt, cancellationToken);
        lock (_applied)
        {
            _applied.Add((key, sequence, result));
        }
        if (LoseAnswer(sequence))
        {
            throw new IOException("the replica went away before answering");
        }
        return result;
    }

    public ValueTask<ulong> LastAcceptedAsync(ReportKey key, CancellationToken cancellationToken = default) =>
        inner.LastAcceptedAsync(key, cancellationToken);

    public ValueTask<IReadOnlyList<LoadTotal>> SumAsync(LoadScope scope, DateTimeOffset start, DateTimeOffset end, string? image, CancellationToken cancellationToken = default) =>
        inner.SumAsync(scope, start, end, image, cancellationToken);
}
