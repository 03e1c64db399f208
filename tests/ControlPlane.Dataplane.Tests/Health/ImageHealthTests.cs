using ControlPlane.Dataplane.Health;
using ControlPlane.Dataplane.LoadBalancing;

namespace ControlPlane.Dataplane.Tests.Health;

/// <summary>Ejection rules on virtual time.</summary>
public sealed class ImageHealthTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly PassiveHealthOptions _options = new()
    {
        ConsecutiveFailures = 3,
        BaseEjectionTime = TimeSpan.FromSeconds(30),
        MaxEjectionTime = TimeSpan.FromSeconds(100),
        MaxEjectionPercent = 50,
    };

    [Fact]
    public void ConsecutiveFailures_Eject_ForTheBaseTime()
    {
        var (health, states) = Image(4);

        Assert.Null(health.ReportFailure(states[0], states, _options));
        Assert.Null(health.ReportFailure(states[0], states, _options));
        Assert.Equal(TimeSpan.FromSeconds(30), health.ReportFailure(states[0], states, _options));

        Assert.True(health.IsEjected(states[0]));
        Assert.Equal(1, health.EjectedCount);
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(health.IsEjected(states[0]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(health.IsEjected(states[0]));
        Assert.Equal(0, health.EjectedCount);
    }

    [Fact]
    public void ASuccess_EndsTheStreak()
    {
        var (health, states) = Image(4);

        health.ReportFailure(states[0], states, _options);
        health.ReportFailure(states[0], states, _options);
        health.ReportSuccess(states[0], _options);
        health.ReportFailure(states[0], states, _options);
        health.ReportFailure(states[0], states, _options);

        Assert.False(health.IsEjected(states[0]));
        Assert.Equal(0, health.EjectedCount);
    }

    [Fact]
    public void RepeatedEjections_GrowLonger_UpToTheMaximum()
    {
        var (health, states) = Image(4);
        var lengths = new List<TimeSpan>();
        for (var round = 0; round < 5; round++)
        {
            TimeSpan? ejected = null;
            while (ejected is null)
            {
                ejected = health.ReportFailure(states[0], states, _options);
            }
            lengths.Add(ejected.Value);
            _clock.Advance(ejected.Value);
        }

        Assert.Equal([30, 60, 90, 100, 100], lengths.Select(l => (int)l.TotalSeconds));
    }

    [Fact]
    public void HealthyLongEnough_ResetsTheGrowth()
    {
        var (health, states) = Image(4);
        EjectOnce(health, states, 0);
        _clock.Advance(TimeSpan.FromSeconds(30));
        EjectOnce(health, states, 0);
        _clock.Advance(TimeSpan.FromSeconds(60));

        _clock.Advance(_options.MaxEjectionTime);
        health.ReportSuccess(states[0], _options);

        Assert.Equal(TimeSpan.FromSeconds(30), EjectOnce(health, states, 0));
    }

    [Fact]
    public void AtMostMaxEjectionPercent_AreEjected_ButAtLeastOne()
    {
        var (health, states) = Image(4);
        for (var i = 0; i < 4; i++)
        {
            for (var f = 0; f < 10; f++)
            {
                health.ReportFailure(states[i], states, _options);
            }
        }
        Assert.Equal(2, states.Count(health.IsEjected));

        var (single, one) = Image(1);
        EjectOnce(single, one, 0);
        Assert.True(single.IsEjected(one[0]));
    }

    [Fact]
    public void ZeroPercent_DisablesEjection()
    {
        var (health, states) = Image(2);
        var options = new PassiveHealthOptions { ConsecutiveFailures = 1, MaxEjectionPercent = 0 };

        Assert.Null(health.ReportFailure(states[0], states, options));
        Assert.False(health.IsEjected(states[0]));
    }

    [Fact]
    public void RetryBudget_AllowsAShareOfActiveRequests_WithAFloor()
    {
        var budget = new RetryBudget();
        for (var i = 0; i < 20; i++)
        {
            budget.RequestStarted();
        }

        Assert.True(budget.TryStartRetry(percent: 20, minConcurrency: 3)); // limit max(3, 4) = 4
        Assert.True(budget.TryStartRetry(20, 3));
        Assert.True(budget.TryStartRetry(20, 3));
        Assert.True(budget.TryStartRetry(20, 3));
        Assert.False(budget.TryStartRetry(20, 3));
        budget.RetryFinished();
        Assert.True(budget.TryStartRetry(20, 3));
    }

    /// <summary>Reports failures until the endpoint is ejected; a health that never ejects fails the test instead of looping.</summary>
    private TimeSpan EjectOnce(ImageHealth health, EndpointState[] states, int index)
    {
        for (var failures = 0; failures < 1000; failures++)
        {
            if (health.ReportFailure(states[index], states, _options) is { } length)
            {
                return length;
            }
        }
        throw new Xunit.Sdk.XunitException($"{states[index]} was not ejected after 1000 failures");
    }

    private (ImageHealth Health, EndpointState[] States) Image(int endpoints) =>
        (new ImageHealth(_clock), Enumerable.Range(0, endpoints).Select(i => new EndpointState("i" + i, "127.0.0.1", 9000 + i)).ToArray());
}
