using ControlPlane.Sdk.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Sdk.Tests.Internal;

/// <summary>Where a client's calls start among its addresses: the first, or (StartAtRandomAddress) one drawn once from its random source.</summary>
public sealed class AddressRotationTests
{
    private static readonly Uri[] Addresses = [new("http://cp-a:8001"), new("http://cp-b:8001"), new("http://cp-c:8001")];

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.4, 1)]
    [InlineData(0.99, 2)]
    public void StartAtRandomAddress_StartsAtTheDrawnAddress_AndRotatesInListOrder(double draw, int start)
    {
        using var invoker = Invoker(startAtRandom: true, draw);

        Assert.Equal(Addresses[start], invoker.CurrentAddress);
        invoker.ReportUnavailable(Addresses[start]);
        Assert.Equal(Addresses[(start + 1) % Addresses.Length], invoker.CurrentAddress);
    }

    [Fact]
    public void ByDefault_CallsStartAtTheFirstAddress()
    {
        using var invoker = Invoker(startAtRandom: false, draw: 0.99);

        Assert.Equal(Addresses[0], invoker.CurrentAddress);
    }

    [Theory]
    [InlineData("http://cp-b:8001/controlplane", "a path, query or fragment would be ignored")]
    [InlineData("http://cp-b:8001/?zone=a", "a path, query or fragment would be ignored")]
    [InlineData("ftp://cp-b:8001", "not an absolute http:// or https:// address")]
    [InlineData("http://admin:s3cret@cp-b:8001", "must not hold a user name or password")]
    public void AnAddressNoCallCouldUse_IsRefusedWhenTheClientIsMade(string address, string problem)
    {
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(new Uri("http://cp-a:8001"));
        options.Addresses.Add(new Uri(address));

        var ex = Assert.Throws<ArgumentException>(() => ControlPlaneClient.Create(options, TimeProvider.System, NullLoggerFactory.Instance));

        Assert.StartsWith("ControlPlaneClientOptions.Addresses[1] ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
    }

    private static ControlPlaneInvoker Invoker(bool startAtRandom, double draw)
    {
        var options = new ControlPlaneClientOptions { StartAtRandomAddress = startAtRandom };
        foreach (var address in Addresses)
        {
            options.Addresses.Add(address);
        }
        return new ControlPlaneInvoker(options, TimeProvider.System, NullLoggerFactory.Instance, new FixedRandom(draw), _ => null);
    }

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
