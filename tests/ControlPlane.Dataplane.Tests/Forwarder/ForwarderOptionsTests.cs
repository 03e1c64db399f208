using ControlPlane.Dataplane.Forwarder;
using Microsoft.Extensions.Configuration;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>Settings as an operator writes them: the renamed activity timeout still honours its former name.</summary>
public sealed class ForwarderOptionsTests
{
    [Theory]
    [InlineData(null, null, 60)]
    [InlineData("00:00:10", null, 10)]
    [InlineData(null, "00:00:05", 5)]          // RequestTimeout, the former name, still read
    [InlineData("00:00:10", "00:00:05", 10)]   // the new name wins over the old
    [InlineData("00:01:00", "00:00:05", 60)]   // also when set to its default: set is set
    [InlineData("00:00:05", "00:01:00", 5)]
    public void ActivityTimeout_TakesTheFormerRequestTimeout_OnlyWhenNotSetItself(string? activity, string? former, int expectedSeconds)
    {
        var values = new Dictionary<string, string?>();
        if (activity is not null)
        {
            values["Dataplane:Forwarder:ActivityTimeout"] = activity;
        }
        if (former is not null)
        {
            values["Dataplane:Forwarder:RequestTimeout"] = former;
        }
        var options = new ForwarderOptions();

        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(ForwarderOptions.Section).Bind(options);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), options.EffectiveActivityTimeout);
    }
}
