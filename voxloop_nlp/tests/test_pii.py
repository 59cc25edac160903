from voxloop_nlp.components.pii import mask_pii


def test_mobile_landline_and_email():
    out = mask_pii("电话13812345678或010-88886666，邮箱 zhang.san@example.com")
    assert out == "电话[PHONE]或[PHONE]，邮箱 [EMAIL]"


def test_mobile_with_country_code_and_spaces():
    assert mask_pii("call +86 138 1234 5678") == "call [PHONE]"


def test_valid_id_card_is_masked_invalid_is_kept():
    assert mask_pii("身份证11010519491231002X") == "身份证[ID]"
    assert mask_pii("订单号110105194912310021") == "订单号110105194912310021"


def test_bank_card_needs_luhn():
    assert mask_pii("卡号 6222 0212 3456 7890 128") == "卡号 [CARD]"
    assert mask_pii("卡号6222021234567890128,谢谢") == "卡号[CARD],谢谢"
    assert mask_pii("card 4111 1111 1111 1111") == "card [CARD]"
    assert mask_pii("order 1234567890123456") == "order 1234567890123456"


def test_addresses():
    assert mask_pii("寄到北京市朝阳区建国路88号3号楼2单元501室吧") == "寄到[ADDRESS]吧"
    assert mask_pii("Ship to 221 Baker Street please") == "Ship to [ADDRESS] please"


def test_text_without_pii_is_unchanged():
    text = "快递三天还没到，单号 SF1234567"
    assert mask_pii(text) == text


def test_names_after_an_introduction_or_before_an_honorific():
    assert mask_pii("我叫张伟，快递一直没到") == "我叫[NAME]，快递一直没到"
    assert mask_pii("王先生您好") == "[NAME]先生您好"
    assert mask_pii("联系人：李娜 电话13812345678") == "联系人：[NAME] 电话[PHONE]"
    assert mask_pii("Ms. Li called twice") == "[NAME] called twice"
    assert mask_pii("Hi, my name is John Smith and my order is late") == "Hi, my name is [NAME] and my order is late"


def test_wechat_and_qq_ids():
    assert mask_pii("微信号zhangwei123，QQ 123456789") == "微信号[WECHAT]，QQ [QQ]"
    assert mask_pii("加我wechat: li_na_88") == "加我wechat: [WECHAT]"
    assert mask_pii("qq号：987654321") == "qq号：[QQ]"


def test_words_that_only_look_like_names_are_kept():
    for text in ("这位先生态度很好", "向老师反映了", "我是老用户了", "我是高中生，觉得不错", "请问先生贵姓"):
        assert mask_pii(text) == text


def test_addresses_without_a_street_number_after_the_words_that_announce_one():
    assert mask_pii("地址：杭州市西湖区文三路，电话没人接") == "地址：[ADDRESS]，电话没人接"
    assert mask_pii("我住在上海市浦东新区张江镇汤臣豪园3期12栋501室") == "我住在[ADDRESS]"
    assert mask_pii("地址改成南京市鼓楼区中山路") == "地址改成[ADDRESS]"
    assert mask_pii("发到幸福小区5栋2单元301") == "发到[ADDRESS]"


def test_numbered_buildings_of_an_estate_anywhere_in_the_text():
    assert mask_pii("幸福小区5栋2单元301的邻居也没收到") == "[ADDRESS]的邻居也没收到"
    assert mask_pii("汤臣豪园3期12栋501室门口") == "[ADDRESS]门口"


def test_english_addresses_and_flats():
    assert mask_pii("Please ship to 1600 Amphitheatre Parkway, Mountain View") == (
        "Please ship to [ADDRESS], Mountain View"
    )
    assert mask_pii("Send it to Flat 3, 12 High St, London") == "Send it to [ADDRESS], [ADDRESS], London"
    assert mask_pii("Apt 4B door was open") == "[ADDRESS] door was open"


def test_words_that_only_announce_a_place_are_kept():
    for text in ("送到楼下就走了", "寄到公司了", "送到小区门口", "住在市区", "寄到了3号才收到", "发到我手上就坏了",
                 "送到马路边上了"):  # fmt: skip
        assert mask_pii(text) == text
