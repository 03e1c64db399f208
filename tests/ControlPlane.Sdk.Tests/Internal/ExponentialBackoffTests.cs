using ControlPlane.Sdk.Internal;

namespace ControlPlane.Sdk.Tests.Internal;

/// <summary>The delays of retries and reconnects (registrar, discovery streams, the dataplane node's stream).</summary>
public sealed class ExponentialBackoffTests
{
    [Fact]
    public void Backoff_IsExponentialWithFullJitter_Capped()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), new MaxRandom());
        var delays = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalMilliseconds).ToArray();
        Assert.Equal([250, 500, 1000, 2000, 4000, 8000, 10000, 10000], delays.Select(d => Math.Round(d)));
        backoff.Reset();
        Assert.Equal(250, Math.Round(backoff.Next().TotalMilliseconds));

        var jittered = new ExponentialBackoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), new Random(7));
        var bounds = new[] { 250, 500, 1000, 2000, 4000, 8000, 10000 };
        var seen = bounds.Select(bound => (bound, delay: jittered.Next().TotalMilliseconds)).ToList();
        Assert.All(seen, s => Assert.InRange(s.delay, 0, s.bound));
        Assert.True(seen.Select(s => s.delay / s.bound).Distinct().Count() > 1, "the delays are not jittered");
    }

    private sealed class MaxRandom : Random
    {
        public override double NextDouble() => 1.0;
    }
}
