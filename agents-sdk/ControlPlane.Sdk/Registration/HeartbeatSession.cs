using ControlPlane.Api.V1;
using ControlPlane.Grpc;

namespace ControlPlane.Sdk.Registration;

/// <summary>
/// One open <c>HeartbeatStream</c>. A round writes the ids in messages of at most
/// <c>maxPerBeat</c> while reading the answers (pipelined, not one round trip per message); the
/// server answers every message, in order, with one result per id (registry.proto), which is
/// checked here: any other answer is a protocol error that ends the session.
/// </summary>
internal sealed class HeartbeatSession(ControlPlaneStream<HeartbeatStreamRequest, HeartbeatStreamResponse> stream) : IDisposable
{
    private ulong _nextBeatId = 1;

    public Uri Address => stream.Address;

    public void ReportUnavailable() => stream.ReportUnavailable();

    /// <summary>
    /// Renews <paramref name="ids"/>; the results are in the order of the ids. A control plane that
    /// leaves the round without an answer for <paramref name="answerTimeout"/> (from the start, or
    /// since its last answer) ends it UNAVAILABLE: a hung or cut-off replica keeps its connection
    /// open, and waiting on it for the connection's keepalive would let the leases run out.
    /// </summary>
    public async Task<(List<HeartbeatResult> Results, int Messages)> BeatAsync(IReadOnlyList<string> ids, int maxPerBeat, TimeSpan answerTimeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var chunks = ids.Chunk(maxPerBeat).ToArray();
        var first = _nextBeatId;
        _nextBeatId += (ulong)chunks.Length;
        using var silence = new CancellationTokenSource(answerTimeout, time);
        using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, silence.Token);
        var reading = ReadAsync(first, chunks, answerTimeout, silence, round.Token);
        try
        {
            for (var i = 0; i < chunks.Length; i++)
            {
                var request = new HeartbeatStreamRequest { BeatId = first + (ulong)i };
                request.InstanceIds.Add(chunks[i]);
                await stream.Call.RequestStream.WriteAsync(request, round.Token).ConfigureAwait(false);
            }
            return (await reading.ConfigureAwait(false), chunks.Length);
        }
        catch (Exception ex)
        {
            // The call is broken, or its answers are overdue: end it so the reader stops too, and observe its failure.
            stream.Dispose();
            await reading.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            if (silence.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException)
            {
                throw new RpcException(StatusCode.Unavailable, $"no heartbeat answer from {stream.Address} within {answerTimeout}");
            }
            throw;
        }
    }

    private async Task<List<HeartbeatResult>> ReadAsync(ulong first, string[][] chunks, TimeSpan answerTimeout, CancellationTokenSource silence, CancellationToken cancellationToken)
    {
        var results = new List<HeartbeatResult>(chunks.Sum(c => c.Length));
        for (var i = 0; i < chunks.Length; i++)
        {
            if (!await stream.Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                throw new RpcException(StatusCode.Unavailable, "the control plane ended the heartbeat stream");
            }
            silence.CancelAfter(answerTimeout); // an answer: the control plane is alive, the window starts again
            var response = stream.Call.ResponseStream.Current;
            if (response.BeatId != first + (ulong)i || response.Results.Count != chunks[i].Length)
            {
                throw new RpcException(StatusCode.Internal, $"heartbeat answer {response.BeatId} with {response.Results.Count} results does not match beat {first + (ulong)i} of {chunks[i].Length} ids");
            }
            results.AddRange(response.Results);
        }
        return results;
    }

    /// <summary>Half-closes the stream (the server then ends it with OK) and waits for the end, briefly.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        try
        {
            await stream.Call.RequestStream.CompleteAsync().ConfigureAwait(false);
            while (await stream.Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or InvalidOperationException)
        {
            // Closing a broken stream: nothing more to say to it.
        }
    }

    public void Dispose() => stream.Dispose();
}
