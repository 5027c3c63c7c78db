using Haetae.Platform.Hosting;
using Haetae.Platform.Identity;
namespace Haetae.Platform.Tests;

public sealed class AccountRulesTests
{
    [Theory]
    [InlineData("+82 10-1234-5678", "+821012345678")]
    [InlineData("(010) 1234 5678", "01012345678")]
    [InlineData(null, null)]
    [InlineData("  ", null)]
    public void Phone_numbers_are_normalized(string? given, string? expected) =>
        Assert.Equal(expected, AccountRules.NormalizePhone(given));

    [Theory]
    [InlineData("12345")]
    [InlineData("+82 10 abc")]
    [InlineData("1234567890123456")]
    public void Bad_phone_numbers_are_refused(string given)
    {
        var problem = Assert.Throws<ApiProblem>(() => AccountRules.NormalizePhone(given));
        Assert.Equal(400, problem.Status);
    }

    [Fact]
    public void Emails_are_trimmed_and_lower_cased_and_bad_ones_refused()
    {
        Assert.Equal("jimin@example.kr", AccountRules.NormalizeEmail("  JiMin@Example.KR "));
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.NormalizeEmail("not-an-address")).Status);
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.NormalizeEmail("a@b")).Status);
    }

    [Fact]
    public void Display_names_are_1_to_64_printable_characters()
    {
        Assert.Equal("김민준", AccountRules.DisplayName("  김민준 "));
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.DisplayName(" ")).Status);
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.DisplayName(new string('가', 65))).Status);
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.DisplayName("tab\there")).Status);
    }

    [Fact]
    public void Passwords_need_8_to_256_characters()
    {
        Assert.Equal("12345678", AccountRules.Password("12345678"));
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.Password("1234567")).Status);
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.Password(new string('x', 257))).Status);
        Assert.Equal(400, Assert.Throws<ApiProblem>(() => AccountRules.Password(null)).Status);
    }

    [Fact]
    public void A_retried_sign_up_makes_the_same_user_id_and_another_request_does_not()
    {
        var first = AccountRules.UserId("request-1", "+821012345678");

        Assert.Equal(first, AccountRules.UserId("request-1", "+821012345678"));
        Assert.NotEqual(first, AccountRules.UserId("request-2", "+821012345678"));
        Assert.True(AccountRules.IsUserId(first));
        Assert.False(AccountRules.IsUserId("u../../etc"));
    }

    [Fact]
    public void Login_keys_hide_the_address_and_agree_between_sign_up_and_sign_in()
    {
        var key = AccountRules.LoginKey("email", "jimin@example.kr");

        Assert.Equal(key, AccountRules.LoginKeyOf(" JIMIN@example.kr"));
        Assert.DoesNotContain("jimin", key.Name, StringComparison.Ordinal);
        Assert.Equal(AccountRules.LoginKey("phone", "+821012345678"), AccountRules.LoginKeyOf("+82 10 1234 5678"));
    }
}
