namespace ControlPlane.Dataplane.Health;

/// <summary>
/// Envoy's retry budget for one image: retries in flight may not exceed a share of the requests in
/// flight (at least a small fixed number), so a failing backend cannot multiply the load on the
/// rest. Shared by the image's successive snapshots.
/// </summary>
internal sealed class RetryBudget
{
    private int _active;
    private int _retries;

    public int ActiveRequests => Volatile.Read(ref _active);

    public int ActiveRetries => Volatile.Read(ref _retries);

    public void RequestStarted() => Interlocked.Increment(ref _active);

    public void RequestFinished() => Interlocked.Decrement(ref _active);

    /// <summary>Takes a retry from the budget; false when <paramref name="percent"/> of the active requests (at least <paramref name="minConcurrency"/>) are retries already.</summary>
    public bool TryStartRetry(int percent, int minConcurrency)
    {
        while (true)
        {
            var retries = Volatile.Read(ref _retries);
            var limit = Math.Max(minConcurrency, (int)((long)Volatile.Read(ref _active) * percent / 100));
            if (retries >= limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _retries, retries + 1, retries) == retries)
            {
                return true;
            }
        }
    }

    public void RetryFinished() => Interlocked.Decrement(ref _retries);
}
